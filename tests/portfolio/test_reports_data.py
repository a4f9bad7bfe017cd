"""A small hand-made portfolio dataset shared by the report tests (no tests here).

Three projects; varied risks (one out of range, one closed, one opportunity, one without owner),
benefits in three units with a decreasing target, over-delivery and a benefit without indicators;
history with changes before and after ``SINCE``; ITPOSMO and prioritisation ratings including a
rating outside the scale and a missing criterion. Titles include markup to prove escaping.
"""

from __future__ import annotations

import pandas as pd

from veiviser.portfolio.dataset import PortfolioDataset

AS_OF = "2025-06-30"
SINCE = "2025-06-01"
EVIL = '<script>alert("x")</script> & «Søknad»'


def _rows(kind: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def sample_dataset() -> PortfolioDataset:
    projects = pd.DataFrame(
        [
            dict(
                project_key="p1",
                project_title="Digital byggesak",
                GtProjectNumber="P-001",
                GtProjectPhase="Gjennomføre",
                GtProjectServiceAreaText="Byutvikling",
                GtProjectManager={"Title": "Kari Nordmann"},
                GtStartDate="2024-09-01",
                GtEndDate="2026-03-31",
            ),
            dict(
                project_key="p2",
                project_title=EVIL,
                GtProjectNumber="P-002",
                GtProjectPhase="Planlegge",
                GtProjectServiceAreaText="Helse og velferd",
                GtProjectManager="Ola Nordmann",
                GtStartDate="2025-01-15",
            ),
            dict(
                project_key="p3",
                project_title="Velferdsteknologi",
                GtProjectNumber="P-003",
                GtProjectPhase="Konsept",
            ),
        ]
    )
    risks = pd.DataFrame(
        [
            dict(
                project_key="p1",
                project_title="Digital byggesak",
                source_key="p1:r:1",
                item_id="1",
                Title="Leverandør leverer sent",
                ContentType="Risiko",
                GtRiskProbability=4,
                GtRiskConsequence=4,
                GtRiskProbabilityPostAction=2,
                GtRiskConsequencePostAction=3,
                GtRiskStatus="Under arbeid",
                GtActionResponsible={"Title": "Kari Nordmann"},
            ),
            dict(
                project_key="p1",
                project_title="Digital byggesak",
                source_key="p1:r:2",
                item_id="2",
                Title="Nøkkelperson slutter",
                ContentType="Risiko",
                GtRiskProbability=3,
                GtRiskConsequence=5,
                GtRiskProbabilityPostAction=2,
                GtRiskConsequencePostAction=5,
                GtRiskStatus="Identifisert",
                GtActionResponsible=None,
            ),
            dict(
                project_key="p1",
                project_title="Digital byggesak",
                source_key="p1:r:3",
                item_id="3",
                Title="Gammel risiko",
                ContentType="Risiko",
                GtRiskProbability=5,
                GtRiskConsequence=5,
                GtRiskStatus="Ikke lenger aktuell",
            ),
            dict(
                project_key="p2",
                project_title=EVIL,
                source_key="p2:r:1",
                item_id="1",
                Title=EVIL,
                ContentType="Risiko",
                GtRiskProbability=7,
                GtRiskConsequence=2,
                GtRiskStatus="Identifisert",
            ),
            dict(
                project_key="p2",
                project_title=EVIL,
                source_key="p2:r:2",
                item_id="2",
                Title="Gjenbruk av løsning",
                ContentType="Mulighet",
                GtRiskProbability=3,
                GtRiskConsequence=4,
                GtRiskProbabilityPostAction=4,
                GtRiskConsequencePostAction=4,
                GtRiskStatus="Identifisert",
            ),
            dict(
                project_key="p3",
                project_title="Velferdsteknologi",
                source_key="p3:r:1",
                item_id="1",
                Title="Lav oppslutning",
                ContentType="Risiko",
                GtRiskProbability=2,
                GtRiskConsequence=2,
                GtRiskStatus="Identifisert",
                GtActionResponsible="Per Hansen",
            ),
        ]
    )
    stakeholders = pd.DataFrame(
        [
            dict(
                project_key="p1",
                project_title="Digital byggesak",
                source_key="p1:s:1",
                item_id="1",
                Title="Brukerrådet",
                GtStakeholderGroup="Brukere",
                GtStakeholderInfluence="Stor",
                GtStakeholderInterest="Stor",
            ),
            dict(
                project_key="p2",
                project_title=EVIL,
                source_key="p2:s:1",
                item_id="1",
                Title="Brukerrådet",
                GtStakeholderGroup="Brukere",
                GtStakeholderInfluence="Middels",
                GtStakeholderInterest="Stor",
            ),
            dict(
                project_key="p2",
                project_title=EVIL,
                source_key="p2:s:2",
                item_id="2",
                Title="Tillitsvalgte",
                GtStakeholderGroup="Ansatte",
                GtStakeholderInfluence="Stor",
                GtStakeholderInterest="Middels",
            ),
        ]
    )
    benefits = pd.DataFrame(
        [
            dict(
                project_key="p1",
                project_title="Digital byggesak",
                source_key="p1:b:1",
                item_id="1",
                Title="Kortere saksbehandling",
                GtGainsType="Indirekte",
                GtGainsOwner={"Title": "Kari Nordmann"},
                GtRealizationTime="2026-06-30",
            ),
            dict(
                project_key="p1",
                project_title="Digital byggesak",
                source_key="p1:b:2",
                item_id="2",
                Title="Lavere portokostnader",
                GtGainsType="Direkte",
                GtGainsOwner="Økonomisjef",
                GtRealizationTime="2025-12-31",
            ),
            dict(
                project_key="p2",
                project_title=EVIL,
                source_key="p2:b:1",
                item_id="1",
                Title="Bedre omdømme",
                GtGainsType="Kvalitativ",
                GtGainsOwner=None,
                GtRealizationTime=None,
            ),
        ]
    )
    indicators = pd.DataFrame(
        [
            dict(
                project_key="p1",
                project_title="Digital byggesak",
                source_key="p1:i:1",
                item_id="1",
                Title="Saksbehandlingstid (dager)",
                benefit_key="p1:b:1",
                GtStartValue=60,
                GtDesiredValue=20,
                GtMeasurementUnit="Antall",
            ),
            dict(
                project_key="p1",
                project_title="Digital byggesak",
                source_key="p1:i:2",
                item_id="2",
                Title="Portokostnad per år",
                benefit_key="p1:b:2",
                GtStartValue=500_000,
                GtDesiredValue=200_000,
                GtMeasurementUnit="Kroner",
            ),
            dict(
                project_key="p1",
                project_title="Digital byggesak",
                source_key="p1:i:3",
                item_id="3",
                Title="Digitale søknader",
                benefit_key="p1:b:1",
                GtStartValue=10,
                GtDesiredValue=60,
                GtMeasurementUnit="Prosent",
            ),
        ]
    )
    meas = []
    for n, (date, v1, v2, v3) in enumerate(
        [
            ("2025-01-31", 55, 480_000, 15),
            ("2025-03-31", 45, 400_000, 35),
            ("2025-05-31", 38, 330_000, 62),
            ("2025-06-20", 33, 310_000, 71),
        ],
        start=1,
    ):
        meas += [
            dict(
                project_key="p1",
                source_key=f"p1:m:{n}a",
                item_id=f"{n}a",
                indicator_key="p1:i:1",
                GtMeasurementValue=v1,
                GtMeasurementDate=date,
            ),
            dict(
                project_key="p1",
                source_key=f"p1:m:{n}b",
                item_id=f"{n}b",
                indicator_key="p1:i:2",
                GtMeasurementValue=v2,
                GtMeasurementDate=date,
            ),
            dict(
                project_key="p1",
                source_key=f"p1:m:{n}c",
                item_id=f"{n}c",
                indicator_key="p1:i:3",
                GtMeasurementValue=v3,
                GtMeasurementDate=date,
            ),
        ]
    measurements = pd.DataFrame(meas)

    def v(key: str, kind: str, project: str, start: str, end: str | None, **values) -> dict:
        return dict(
            source_key=key,
            kind=kind,
            project_key=project,
            project_title=projects.set_index("project_key").at[project, "project_title"],
            valid_from=start,
            valid_to=end,
            deleted=values.pop("deleted", False),
            **values,
        )

    history = pd.DataFrame(
        [
            v(
                "p1:r:1",
                "risks",
                "p1",
                "2025-01-10",
                "2025-06-10",
                Title="Leverandør leverer sent",
                GtRiskProbability=3,
                GtRiskStatus="Identifisert",
            ),
            v(
                "p1:r:1",
                "risks",
                "p1",
                "2025-06-10",
                None,
                Title="Leverandør leverer sent",
                GtRiskProbability=4,
                GtRiskStatus="Under arbeid",
            ),
            v(
                "p1:r:3",
                "risks",
                "p1",
                "2025-01-10",
                "2025-06-15",
                Title="Gammel risiko",
                GtRiskProbability=5,
                GtRiskStatus="Identifisert",
            ),
            v(
                "p1:r:3",
                "risks",
                "p1",
                "2025-06-15",
                None,
                Title="Gammel risiko",
                GtRiskProbability=5,
                GtRiskStatus="Ikke lenger aktuell",
            ),
            v(
                "p2:r:1",
                "risks",
                "p2",
                "2025-06-20",
                None,
                Title=EVIL,
                GtRiskProbability=7,
                GtRiskStatus="Identifisert",
            ),
            v("p1:b:1", "benefits", "p1", "2025-01-10", None, Title="Kortere saksbehandling"),
            v(
                "p1:i:1",
                "indicators",
                "p1",
                "2025-01-10",
                "2025-06-05",
                Title="Saksbehandlingstid (dager)",
                benefit_key="p1:b:1",
                GtStartValue=60,
                GtDesiredValue=30,
            ),
            v(
                "p1:i:1",
                "indicators",
                "p1",
                "2025-06-05",
                None,
                Title="Saksbehandlingstid (dager)",
                benefit_key="p1:b:1",
                GtStartValue=60,
                GtDesiredValue=20,
            ),
        ]
    )
    itposmo = pd.DataFrame(
        [
            dict(
                project="Digital byggesak",
                information=3,
                technology=6,
                processes=7,
                objectives=2,
                staffing=4,
                management=3,
                other_resources=5,
            ),
            dict(
                project=EVIL,
                information=1,
                technology=2,
                processes=2,
                objectives=1,
                staffing=1,
                management=1,
                other_resources=2,
            ),
            dict(
                project="Velferdsteknologi",
                information=3,
                technology=12,
                processes=4,
                objectives=2,
                staffing=3,
                management=2,
                other_resources=4,
            ),
        ]
    )
    priorities = pd.DataFrame(
        [
            dict(
                project="Digital byggesak",
                Strategi=5,
                Volum=4,
                Volumtall=3,
                Levetid=4,
                Samhandling=3,
                Kvalitet=4,
                Ressursutnyttelse=5,
                Kritikalitet=4,
                Fremtid=4,
                Risiko=2,
            ),
            dict(
                project=EVIL,
                Strategi=3,
                Volum=2,
                Volumtall=2,
                Levetid=3,
                Samhandling=4,
                Kvalitet=3,
                Ressursutnyttelse=2,
                Kritikalitet=5,
                Fremtid=3,
                Risiko=None,
            ),
            dict(
                project="Velferdsteknologi",
                Strategi=4,
                Volum=5,
                Volumtall=4,
                Levetid=3,
                Samhandling=2,
                Kvalitet=4,
                Ressursutnyttelse=3,
                Kritikalitet=3,
                Fremtid=5,
                Risiko=3,
            ),
        ]
    )
    return PortfolioDataset(
        as_of=AS_OF,
        projects=projects,
        risks=risks,
        stakeholders=stakeholders,
        benefits=benefits,
        indicators=indicators,
        measurements=measurements,
        history=history,
        itposmo=itposmo,
        priorities=priorities,
        title="Testportefølje",
        source="test",
    )


def empty_dataset() -> PortfolioDataset:
    """No projects, no rows, no history."""
    return PortfolioDataset(as_of=AS_OF)
