"""Feedback to the project leads on their own site (opt-in): the pure text, and the hidden list
«Porteføljetilbakemelding» written with the real client, idempotently, at no request for an
unchanged site."""

from __future__ import annotations

from datetime import date

from tests.support.sync import add_items, assert_exact, portfolio, run_sync
from veiviser.sharepoint import RequestCounter
from veiviser.sync import feedback
from veiviser.sync.quality import QualityFinding
from veiviser.sync.report import EXIT_OK

TODAY = date(2026, 12, 7)


def _rows() -> dict[str, dict[str, dict]]:
    return {
        "risks": {
            "r1": {
                "item_id": 1,
                "Title": "Leverandør svikter",
                "GtRiskProbability": 4,
                "GtRiskConsequence": 3,
            },
            "r2": {
                "item_id": 2,
                "Title": "Lukket",
                "GtRiskProbability": 5,
                "GtRiskConsequence": 5,
                "GtRiskStatus": "Tiltak gjennomført",
            },
            "r3": {
                "item_id": 3,
                "Title": "Har eier",
                "GtRiskProbability": 2,
                "GtRiskConsequence": 2,
                "GtActionResponsible": {"Title": "Kari", "EMail": "kari@kommune.no"},
            },
        },
        "benefits": {"b1": {"item_id": 1, "Title": "Færre timer"}, "b2": {"item_id": 2, "Title": "Uten mål"}},
        "indicators": {"i1": {"item_id": 1, "Title": "Timer per uke", "benefit_key": "b1"}},
        "measurements": {
            "m1": {"item_id": 1, "indicator_key": "i1", "GtMeasurementDate": "2025-01-15T00:00:00Z"},
            "m2": {"item_id": 2, "indicator_key": "i1", "GtMeasurementDate": "2026-03-01T00:00:00Z"},
        },
    }


def test_feedback_names_what_the_portfolio_sees_in_norwegian():
    finding = QualityFinding("u", "Usikkerhet", 1, "GtRiskProbability", 7, "risk-scale-range", "English")
    person = QualityFinding("u", "Usikkerhet", 4, "GtActionResponsible", "i:0#.f|x", "person-unknown", "")
    held = QualityFinding("u", "", None, None, 40, "mass-delete-held", "English")  # for the office only
    sections = feedback.feedback_lines(_rows(), [finding, person, held], TODAY)
    assert sections == {
        "Uakseptable risikoer": [
            "«Leverandør svikter» har risikofaktor 12 (sannsynlighet 4 × konsekvens 3) og er ikke lukket."
        ],
        "Risikoer uten tiltaksansvarlig": ["«Leverandør svikter» har ingen tiltaksansvarlig."],
        "Gevinster uten måleindikator": ["«Uten mål» har ingen måleindikator."],
        "Måleindikatorer uten ferske målinger": [
            "«Timer per uke»: siste måling er fra 2026-03-01, mer enn et halvt år siden."
        ],
        "Datakvalitet": [
            "Usikkerhet, element 1, felt Sannsynlighet (S): Sannsynlighet (S) er 7, men skalaen er 0–5 "
            "(0 = ikke vurdert). Sett en verdi fra 1 til 5, eller 0 om den ikke er vurdert.",
            "Usikkerhet, element 4, felt Tiltaksansvarlig: Personen «i:0#.f|x» i Tiltaksansvarlig finnes "
            "ikke i virksomhetens katalog; raden er med i porteføljen uten personen. Velg en person som "
            "finnes i katalogen.",
        ],
    }
    text = feedback.feedback_text("Digitale politikere", sections)
    assert text.startswith("Porteføljekontoret ser dette om «Digitale politikere»:")
    assert "\nUakseptable risikoer (1):\n- «Leverandør svikter»" in text
    assert feedback.feedback_hash(text) == feedback.feedback_hash(text) != feedback.feedback_hash(text + " ")


def test_no_findings_is_a_short_thank_you_and_fresh_measurements_are_not_stale():
    rows = _rows()
    rows["risks"] = {}
    rows["benefits"].pop("b2")
    assert feedback.feedback_lines(rows, [], date(2026, 6, 1)) == {}
    assert feedback.feedback_text("P", {}).endswith("Ingen avvik. Takk!")


def _feedback_items(site):
    return list(site.iter_items(feedback.FEEDBACK_LIST, select=["ID", "Title", feedback.TEXT_FIELD]))


def test_feedback_list_is_written_once_and_only_when_it_changes(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    site = pf.project("tilbakemelding", title="Digitale politikere")
    (risk,) = add_items(
        site, "Usikkerhet", [{"Title": "Leverandør svikter", "GtRiskProbability": 4, "GtRiskConsequence": 3}]
    )
    add_items(site, "Gevinstanalyse og gevinstrealiseringsplan", [{"Title": "Uten mål"}])
    own_before = list(site.iter_items("Usikkerhet", select=["ID", "Title", "Modified"]))

    report = run_sync(server, pf.hub, state_store, feedback=True)
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert report.sites[0].counts["feedback_written"] == 1
    (item,) = _feedback_items(site)
    text = item[feedback.TEXT_FIELD]
    assert (
        "«Digitale politikere»" in text
        and "risikofaktor 12" in text
        and "«Uten mål» har ingen måleindikator." in text
    )
    lists = {x["Title"]: x for x in site.get("Web/lists", {"$select": "Title,Hidden"})}
    assert lists[feedback.FEEDBACK_LIST]["Hidden"] is True
    assert list(site.iter_items("Usikkerhet", select=["ID", "Title", "Modified"])) == own_before  # untouched
    assert_exact(pf.hub, [site], state_store)

    # Unchanged: the feedback costs nothing (the same requests as a run without it), no write.
    def unchanged(with_feedback):
        return run_sync(server, pf.hub, state_store, counter=RequestCounter(), feedback=with_feedback)

    # Creating the feedback list is a list change on the site; round zero knows the list as the
    # sync's own and does not send the site to round one for it: no run after costs more.
    first, plain, again = unchanged(True), unchanged(False), unchanged(True)
    assert again.exit_code == EXIT_OK and "feedback_written" not in again.sites[0].counts
    assert first.requests == again.requests == plain.requests == 4, (first.requests, plain.requests)

    # The risk is closed: the feedback item is updated in place (still one item).
    site.update_items("Usikkerhet", {risk: {"GtRiskStatus": "Tiltak gjennomført"}})
    third = run_sync(server, pf.hub, state_store, feedback=True)
    assert third.sites[0].counts["feedback_written"] == 1
    (item,) = _feedback_items(site)
    assert "risikofaktor" not in item[feedback.TEXT_FIELD] and "Uten mål" in item[feedback.TEXT_FIELD]


def test_changed_feedback_is_one_request_and_survives_a_deleted_item(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    site = pf.project("tilbakemelding2", title="Ny portal")
    (risk,) = add_items(
        site, "Usikkerhet", [{"Title": "Uklart omfang", "GtRiskProbability": 5, "GtRiskConsequence": 5}]
    )
    assert run_sync(server, pf.hub, state_store, feedback=True).sites[0].counts["feedback_written"] == 1

    def run(with_feedback):
        counter = RequestCounter()
        report = run_sync(server, pf.hub, state_store, counter=counter, feedback=with_feedback)
        assert report.exit_code == EXIT_OK, report.to_dict()
        return report, counter.total

    # The source change is synced without feedback; the next run finds the sources unchanged but
    # the feedback text changed: one MERGE more than an unchanged run (4), by the ids in the store.
    site.update_items("Usikkerhet", {risk: {"Title": "Uklart omfang i fase 2"}})
    run(False)
    report, requests = run(True)
    assert report.sites[0].counts["feedback_written"] == 1 and requests == 4 + 1
    (item,) = _feedback_items(site)
    assert "«Uklart omfang i fase 2»" in item[feedback.TEXT_FIELD]

    # The project lead deletes the feedback item: the MERGE finds it gone and a new item is written.
    site.delete_items(feedback.FEEDBACK_LIST, [item["ID"]])
    site.update_items("Usikkerhet", {risk: {"Title": "Uklart omfang i fase 3"}})
    run(False)
    report, _ = run(True)
    assert report.sites[0].counts["feedback_written"] == 1
    (item,) = _feedback_items(site)
    assert "«Uklart omfang i fase 3»" in item[feedback.TEXT_FIELD]
    assert run(True)[1] == 4  # and then nothing again
