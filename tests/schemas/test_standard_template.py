"""The standard templates against the Prosjektveiviseren model (docs/data-model.md)."""

from __future__ import annotations

import pytest

from veiviser.schemas.template import FieldType, Template
from veiviser.schemas.template_loader import load_bundle, load_template


@pytest.fixture(scope="module")
def project() -> Template:
    return load_template("standard")


@pytest.fixture(scope="module")
def hub() -> Template:
    return load_template("standard-hub")


def test_both_templates_load_and_have_versions(project: Template, hub: Template) -> None:
    assert project.kind == "project" and hub.kind == "hub"
    assert project.name == "Standardmal"
    assert project.version == "1.0.0" and hub.version == "1.0.0"
    assert project.problems() == [] and hub.problems() == []
    bundle = load_bundle()
    assert bundle.get("hub").name == hub.name


@pytest.mark.parametrize(
    ("key", "title", "url", "cts", "ct_enabled"),
    [
        ("risks", "Usikkerhet", "Lists/Usikkerhet", ["Risiko", "Mulighet"], True),
        ("stakeholders", "Interessentregister", "Lists/Interessentregister", ["Interessent"], True),
        ("changes", "Endringsanalyse", "Lists/Endringsanalyse", ["Endring"], True),
        (
            "benefits",
            "Gevinstanalyse og gevinstrealiseringsplan",
            "Lists/Gevinstanalyse og gevinstrealiseringsplan",
            ["Gevinst"],
            True,
        ),
        ("indicators", "Måleindikatorer", "Lists/Mleindikatorer", ["Måleindikator"], True),
        ("measurements", "Gevinstoppfølging", "Lists/Gevinstoppflging", ["Gevinstoppfølging"], False),
        ("communication", "Kommunikasjonsplan", "Lists/Kommunikasjonsplan", ["Kommunikasjonselement"], True),
        ("deliveries", "Prosjektleveranser", "Lists/Prosjektleveranser", ["Prosjektleveranse"], True),
        ("log", "Prosjektlogg", "Lists/Prosjektlogg", ["Prosjektloggelement"], False),
        ("checklist", "Fasesjekkliste", "Lists/Fasesjekkliste", ["Sjekkpunkt"], True),
        ("resources", "Ressursallokering", "Lists/Ressursallokering", ["Ressursallokering"], False),
        ("properties", "Prosjektegenskaper", "Lists/Prosjektegenskaper", ["Prosjekt"], False),
    ],
)
def test_project_lists(
    project: Template, key: str, title: str, url: str, cts: list[str], ct_enabled: bool
) -> None:
    lst = project.get_list(key)
    assert (lst.title, lst.url, lst.template_type) == (title, url, 100)
    assert lst.content_types == cts
    assert lst.content_types_enabled is ct_enabled
    assert lst.url.isascii()
    assert project.get_list(title) is lst


def test_properties_list_is_hidden_and_documents_library_exists(project: Template) -> None:
    props = project.get_list("properties")
    assert props.hidden and props.attachments is False and props.versioning is True
    assert str(props.field("TemplateParameters").id) == "b8854944-7141-471f-b8df-53d93a4395ba"
    docs = project.get_list("documents")
    assert (docs.template_type, docs.url, docs.existing) == (101, "Delte dokumenter", True)
    assert docs.view("Gjeldende fase").current_phase


def test_risk_fields(project: Template) -> None:
    risks = project.get_list("risks")
    for name in (
        "GtRiskProbability",
        "GtRiskConsequence",
        "GtRiskProbabilityPostAction",
        "GtRiskConsequencePostAction",
    ):
        f = risks.field(name)
        assert (f.type, f.min, f.max) == (FieldType.NUMBER, 0, 5)
    strategy = risks.field("GtRiskStrategy")
    assert strategy.default == "Redusere"
    assert strategy.choices == [
        "Redusere",
        "Overvåke",
        "Unngå",
        "Overføre",
        "Dele",
        "Akseptere",
        "Øke",
        "Utnytte",
    ]
    status = risks.field("GtRiskStatus")
    assert (status.format, status.default) == ("RadioButtons", "Identifisert")
    assert status.choices == ["Identifisert", "Tiltak gjennomført", "Ikke lenger aktuell"]
    assert risks.field("GtRiskProximity").choices[0] == "Umiddelbart"
    assert risks.field("GtActionResponsible").type is FieldType.USER
    assert risks.field("GtShowInPortfolio").type is FieldType.BOOLEAN


def test_calculated_risk_factors(project: Template) -> None:
    risks = project.get_list("risks")
    rf = risks.field("GtRiskFactor")
    assert (rf.type, rf.formula, rf.result_type) == (
        FieldType.CALCULATED,
        "=GtRiskProbability*GtRiskConsequence",
        "Number",
    )
    assert rf.formula_refs() == ["GtRiskProbability", "GtRiskConsequence"]
    post = risks.field("GtRiskFactorPostAction")
    assert post.formula == "=GtRiskProbabilityPostAction*GtRiskConsequencePostAction"
    assert post.formula_refs() == ["GtRiskProbabilityPostAction", "GtRiskConsequencePostAction"]


def test_phase_is_choice_with_taxonomy_compat(project: Template, hub: Template) -> None:
    phases = ["Idé", "Flere faser", "Konsept", "Planlegge", "Gjennomføre", "Avslutte", "Realisere"]
    for t in (project, hub):
        for lst in t.lists:
            if lst.has_field("GtProjectPhase"):
                f = lst.field("GtProjectPhase")
                assert f.type is FieldType.CHOICE and f.choices == phases
                assert str(f.id) == "325543a5-815d-485d-a9a5-e0773ad762e9"
                assert (
                    f.taxonomy is not None
                    and f.taxonomy.term_set_id == "abcfc9d9-a263-4abb-8234-be973c46258a"
                )
    assert project.get_list("checklist").has_field("GtProjectPhase")


def test_stakeholder_misspelling_kept(project: Template) -> None:
    f = project.get_list("stakeholders").field("GtStakeholderInfluencePossibilty")
    assert f.choices == ["Stor", "Middels", "Liten", "Ingen"]
    assert f.display_name == "Mulighet til påvirkning"


@pytest.mark.parametrize(
    ("list_key", "name", "fid", "target", "show", "parent", "ftype"),
    [
        (
            "benefits",
            "GtChangeLookup",
            "1d5752af-4d26-4aed-b20a-6229ac14ed5d",
            "changes",
            "LinkTitleNoMenu",
            None,
            "LookupMulti",
        ),
        (
            "indicators",
            "GtGainLookup",
            "8d70fa93-b547-46f1-84e7-4982f8c9c675",
            "benefits",
            "Title",
            None,
            "Lookup",
        ),
        (
            "indicators",
            "GtGainLookup_ID",
            "c239539c-8672-46cc-be77-fb53322f71ae",
            "benefits",
            "ID",
            "GtGainLookup",
            "Lookup",
        ),
        (
            "measurements",
            "GtMeasureIndicatorLookup",
            "92ae8541-f35e-4c05-8518-b9abce2d0860",
            "indicators",
            "Title",
            None,
            "Lookup",
        ),
        (
            "measurements",
            "GtMeasureIndicatorLookup_ID",
            "571f95d9-4c0b-4b4d-8a0b-9a1771811f07",
            "indicators",
            "ID",
            "GtMeasureIndicatorLookup",
            "Lookup",
        ),
        (
            "measurements",
            "GtMeasureIndicatorLookup_GtDesiredValue",
            "8fe2e615-999b-48dc-8889-151ed84a757a",
            "indicators",
            "GtDesiredValue",
            "GtMeasureIndicatorLookup",
            "Lookup",
        ),
        (
            "communication",
            "GtCommunicationTarget",
            "d685f33f-51b5-4e9f-a314-4b3d9467a7e4",
            "stakeholders",
            "Title",
            None,
            "LookupMulti",
        ),
        (
            "deliveries",
            "GtDeliveryStakeholders",
            "6d90e0b6-73e6-48fb-aa1e-b897b214f934",
            "stakeholders",
            "Title",
            None,
            "LookupMulti",
        ),
        (
            "log",
            "GtProjectLogProductLookup",
            "022cc93f-13df-4420-bd47-55e4fdae5d18",
            "deliveries",
            "Title",
            None,
            "Lookup",
        ),
    ],
)
def test_lookups(
    project: Template,
    list_key: str,
    name: str,
    fid: str,
    target: str,
    show: str,
    parent: str | None,
    ftype: str,
) -> None:
    f = project.get_list(list_key).field(name)
    assert (str(f.id), f.lookup_list, f.show_field, f.projected_from, f.type.value) == (
        fid,
        target,
        show,
        parent,
        ftype,
    )


def test_benefit_chain_fields(project: Template) -> None:
    ind = project.get_list("indicators")
    assert ind.field("GtMeasurementUnit").choices == ["Antall", "Kroner", "Prosent", "Timer"]
    assert ind.field("GtMeasurementUnit").default == "Antall"
    links = {link.name: link for link in project.content_type_field_links("Måleindikator")}
    assert (
        links["GtStartValue"].required
        and links["GtDesiredValue"].required
        and links["GtMeasurementUnit"].required
    )
    ben = project.get_list("benefits")
    assert ben.field("GtGainsType").choices == ["Direkte", "Indirekte", "Kvalitativ"]
    assert ben.field("GtRealizationTime").format == "DateOnly"
    meas = project.get_list("measurements")
    assert meas.field("GtMeasurementDate").default == "[today]"
    view = meas.view("Alle elementer")
    assert view.group_by == ["GtMeasureIndicatorLookup"]
    assert (view.order_by[0].field, view.order_by[0].ascending) == ("GtMeasurementDate", False)
    log = project.get_list("log")
    assert (
        log.field("GtProjectLogActors").type is FieldType.MULTICHOICE
        and log.field("GtProjectLogActors").fill_in
    )
    assert log.field("GtProjectLogResponsible").fill_in


@pytest.mark.parametrize(
    ("name", "ct_id"),
    [
        ("Usikkerhet", "0x0100A87AE71CBF2643A6BC9D0948BD2EE897"),
        ("Risiko", "0x0100A87AE71CBF2643A6BC9D0948BD2EE89701"),
        ("Mulighet", "0x0100A87AE71CBF2643A6BC9D0948BD2EE89702"),
        ("Interessent", "0x010072C95831F8434782AB2FF6BE3E596F46"),
        ("Kommunikasjonselement", "0x010065CE65D51354419EA794C6FACD4FA2EB"),
        ("Sjekkpunkt", "0x0100486B1F8AEA24486FBA1C1BA9146C360C"),
        ("Prosjektleveranse", "0x0100D7B74DE815F946D3B0F99D19F9B36B68"),
        ("Prosjektloggelement", "0x01004EDD18CB92C14EBA97103D909C897810"),
        ("Prosjekthendelse", "0x010200C19C974828B24D469B69C22B2D1FFB63"),
        ("Prosjektoppgave", "0x01080024FEF2F7FA284B7CB33E6635D636E380"),
        ("Gevinstoppfølging", "0x010039EAFDC2A1624C1BA1A444FC8FE85DEC"),
        ("Gevinst", "0x01004F466123309D46BAB9D5C6DE89A6CF67"),
        ("Endring", "0x01001AF93A93F5534B5FBAF750572B11BB7F"),
        ("Måleindikator", "0x010073043EFE3E814A2BBEF96B8457623F95"),
        ("Ressursallokering", "0x010004EAFF7AFCC94C2680042E6881264120"),
        ("Prosjekt", "0x0100805E9E4FEAAB4F0EABAB2600D30DB70C"),
    ],
)
def test_content_type_ids(project: Template, name: str, ct_id: str) -> None:
    assert project.content_type(name).id == ct_id
    assert project.content_type(ct_id).name == name


def test_content_type_inheritance_and_links(project: Template) -> None:
    risk_links = [link.name for link in project.content_type_field_links("Risiko")]
    assert risk_links == [link.name for link in project.content_type_field_links("Usikkerhet")]
    assert (
        risk_links[:3] == ["Title", "GtRiskDescription", "GtProjectPhase"]
        and risk_links[-1] == "GtShowInPortfolio"
    )
    assert len(risk_links) == 15
    assert project.parent_id_of(project.content_type("Prosjekthendelse")) == "0x0102"
    assert project.parent_id_of(project.content_type("Mulighet")) == "0x0100A87AE71CBF2643A6BC9D0948BD2EE897"
    gevinst_title = project.content_type_field_links("Gevinst")[0]
    assert (gevinst_title.name, gevinst_title.display_name, gevinst_title.required) == (
        "Title",
        "Gevinst",
        True,
    )
    stake = [link.name for link in project.content_type_field_links("Interessent")]
    assert stake[-1] == "GtStakeholderActions" and len(stake) == 8


def test_checklist_seed(project: Template) -> None:
    lst = project.get_list("checklist")
    assert lst.key_fields == ["GtSortOrder"]
    seeds = lst.seed_items
    assert len(seeds) == 44
    orders = [s.values["GtSortOrder"] for s in seeds]
    assert orders == list(range(10, 450, 10))
    counts: dict[str, int] = {}
    for s in seeds:
        counts[s.values["GtProjectPhase"]] = counts.get(s.values["GtProjectPhase"], 0) + 1
    assert counts == {
        "Idé": 7,
        "Konsept": 10,
        "Planlegge": 10,
        "Gjennomføre": 7,
        "Avslutte": 8,
        "Realisere": 2,
    }
    first, last = seeds[0].values, seeds[-1].values
    assert first["Title"].startswith("Er det en tydelig definert problemstilling")
    assert (
        seeds[3].values["Title"] == "Er tiltaket  i henhold til virksomhetsstrategien?"
    )  # double space kept
    assert last["GtProjectPhase"] == "Realisere" and last["GtSortOrder"] == 440
    assert len({lst.seed_key(s) for s in seeds}) == 44 and lst.seed_key(seeds[0]) == "10"
    assert lst.field("GtChecklistStatus").default == "Åpen"
    assert lst.field("GtSortOrder").default == 100


def test_risk_views(project: Template) -> None:
    risks = project.get_list("risks")
    assert [v.title for v in risks.views] == [
        "Alle elementer", "Aktuelle risikoer", "Aktuelle muligheter", "Uakseptable risikoer", "Avklart risiko",
        "Uten ansvarlig", "Kun risikoer", "Kun muligheter", "Gjeldende fase",
    ]  # fmt: skip
    assert risks.view("Alle elementer").default
    q = risks.view_query("Uakseptable risikoer")
    assert '<Gt><FieldRef Name="GtRiskFactor" /><Value Type="Number">10</Value></Gt>' in q
    assert '<Neq><FieldRef Name="GtRiskStatus" /><Value Type="Choice">Ikke lenger aktuell</Value></Neq>' in q
    assert '<Value Type="Computed">Risiko</Value>' in q
    assert '<OrderBy><FieldRef Name="GtRiskFactor" Ascending="FALSE" /></OrderBy>' in q
    assert '<IsNull><FieldRef Name="GtActionResponsible" /></IsNull>' in risks.view_query("Uten ansvarlig")


def test_resources_list(project: Template) -> None:
    res = project.get_list("resources")
    assert res.versioning is None
    role = res.field("GtResourceRole")
    assert role.required and role.taxonomy is not None and role.choices[0] == "Prosjekteier"
    assert res.field("GtResourceLoad").percentage


def test_properties_match_hub_project_content_type(project: Template, hub: Template) -> None:
    props = project.get_list("properties")
    projects = hub.get_list("projects")
    for link in hub.content_type_field_links("Prosjekt"):
        if link.name == "Title":
            continue
        # same definition; only the hub indexes the columns it filters on
        assert props.field(link.name).model_dump(exclude={"indexed"}) == projects.field(link.name).model_dump(
            exclude={"indexed"}
        )
    assert [link.name for link in project.content_type_field_links("Prosjekt")] == [
        link.name for link in hub.content_type_field_links("Prosjekt")
    ]


def test_hub_projects_register(hub: Template) -> None:
    projects = hub.get_list("projects")
    assert (
        projects.field("GtSiteId").indexed
        and projects.field("GtSiteId").default == "00000000-0000-0000-0000-000000000000"
    )
    assert projects.field("GtGroupId").indexed
    lifecycle = projects.field("GtProjectLifecycleStatus")
    assert lifecycle.choices == ["Aktivt", "Avventer", "Avsluttet"] and lifecycle.default == "Aktivt"
    for name in ("GtProjectManager", "GtProjectOwner"):
        assert projects.field(name).type is FieldType.USER
    assert projects.field("GtProjectServiceArea").taxonomy.multi
    assert projects.field("GtStartYear").type is FieldType.NUMBER
    assert projects.field("GtTemplateVersion").type is FieldType.TEXT
    itposmo = [f for f in projects.fields if f.name.startswith("GtItposmo") and f.type is FieldType.NUMBER]
    assert len(itposmo) == 7 and all((f.min, f.max) == (0, 10) for f in itposmo)
    total = projects.field("GtItposmoTotal")
    assert set(total.formula_refs()) == {f.name for f in itposmo}
    assert hub.content_type("Prosjekt").id == "0x0100805E9E4FEAAB4F0EABAB2600D30DB70C"


def test_hub_status_list(hub: Template) -> None:
    status = hub.get_list("status")
    assert status.field("GtSiteId").indexed and status.field("GtModerationStatus").indexed
    assert status.field("GtModerationStatus").choices == ["Kladd", "Publisert"]
    assert status.field("GtOverallStatus").required
    assert (
        status.field("GtBudgetTotal").type is FieldType.CURRENCY
        and status.field("GtBudgetTotal").lcid == 1044
    )
    assert status.field("GtStatusRisk").choices == ["Høy", "Medium", "Lav"]
    assert hub.content_type("Prosjektstatus").id == "0x010022252E35737A413FB56A1BA53862F6D5"


CENTRAL = {
    "portfolio_risks": ("Porteføljeusikkerhet", "Lists/Portefoljeusikkerhet", "risks"),
    "portfolio_stakeholders": ("Porteføljeinteressenter", "Lists/Portefoljeinteressenter", "stakeholders"),
    "portfolio_benefits": ("Porteføljegevinster", "Lists/Portefoljegevinster", "benefits"),
    "portfolio_indicators": ("Porteføljemåleindikatorer", "Lists/Portefoljemaleindikatorer", "indicators"),
    "portfolio_measurements": (
        "Porteføljegevinstoppfølging",
        "Lists/Portefoljegevinstoppfolging",
        "measurements",
    ),
}


@pytest.mark.parametrize("key", sorted(CENTRAL))
def test_central_lists(project: Template, hub: Template, key: str) -> None:
    title, url, source_key = CENTRAL[key]
    lst = hub.get_list(key)
    assert (lst.title, lst.url) == (title, url)
    for name in (
        "GtProjectTitle",
        "GtSiteUrl",
        "GtProjectPhaseText",
        "GtSourceListId",
        "GtSourceItemId",
        "GtSourceModified",
    ):
        assert lst.has_field(name), name
    key_field = lst.field("GtSourceKey")
    assert key_field.indexed and key_field.unique and key_field.type is FieldType.TEXT
    assert lst.field("GtSiteId").indexed and lst.field("GtSourceModified").indexed
    source = project.get_list(source_key)
    for f in source.fields:
        if f.is_lookup:
            continue
        central = lst.field(f.name)  # same internal name as at the source
        assert central.type is f.type and central.choices == f.choices
        assert central.default is None  # the sync writes the source's values, never a default


def test_central_lookup_keys(hub: Template) -> None:
    assert hub.get_list("portfolio_indicators").field("GtGainKey").indexed
    meas = hub.get_list("portfolio_measurements")
    assert meas.field("GtIndicatorKey").indexed and meas.field("GtGainKey").indexed
    assert meas.has_field("GtIndicatorTitle") and meas.has_field("GtGainTitle")
    assert hub.get_list("portfolio_benefits").has_field("GtChangeKeys")
    assert hub.get_list("portfolio_risks").field("GtUncertaintyType").choices == ["Risiko", "Mulighet"]


def test_operating_costs_and_prioritisation(hub: Template) -> None:
    costs = hub.get_list("operating_costs")
    assert costs.field("GtCostYear").indexed and costs.field("GtOperatingCost").type is FieldType.CURRENCY
    assert costs.field("GtCostKey").unique
    criteria = hub.get_list("priority_criteria")
    weights = {s.values["GtCriterionKey"]: s.values.get("GtCriterionWeight") for s in criteria.seed_items}
    assert weights == {
        "strategi": 10, "volum": 5, "volumtall": 1, "levetid": 5, "samhandling": 5, "kvalitet": 10,
        "ressursutnyttelse": 10, "kritikalitet": 20, "fremtid": 10, "risiko": None,
    }  # fmt: skip
    risk = next(s for s in criteria.seed_items if s.values["GtCriterionKey"] == "risiko")
    assert risk.values["GtCriterionDirection"] == "Negativ"
    assert hub.get_list("priority_ratings").field("GtRatingKey").unique


def test_every_indexed_field_is_indexable_and_site_columns_resolve(project: Template, hub: Template) -> None:
    for t in (project, hub):
        names = {f.name for f in t.site_columns()}
        for ct in t.content_types:
            for link in ct.field_links:
                assert link.name == "Title" or link.name in names
