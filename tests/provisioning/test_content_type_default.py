"""Lists with content types enabled carry only the template's content types, in template order, so
the first one is the default for new items (PP365: Usikkerhet → «Risiko»); the generic «Element»
(Item) content type SharePoint gives every new list is removed while no item uses it.
Real office365 client against the emulator over HTTP."""

from __future__ import annotations

import pytest
from office365.sharepoint.client_context import ClientContext

from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning import plan as plan_module
from veiviser.provisioning.engine import ProjectRequest, Provisioner
from veiviser.sharepoint.schema import is_generic_item_ct

ALFA = ProjectRequest(
    title="Alfa",
    alias="alfa",
    owner="eier@kommune.no",
    leader="leder@kommune.no",
    phase="Konsept",
    unit="IKT",
    start_year=2020,
    service_area="Administrasjon og IKT",
)

RISIKO = "0x0100A87AE71CBF2643A6BC9D0948BD2EE89701"


def _ctx(server: EmulatorServer, url: str) -> ClientContext:
    return ClientContext(url).with_access_token(server.access_token)


def _list_cts(ctx: ClientContext, title: str) -> list[tuple[str, str]]:
    cts = ctx.web.lists.get_by_title(title).content_types.get().execute_query()
    return [(ct.properties["StringId"], ct.properties["Name"]) for ct in cts]


def _new_item_ct(ctx: ClientContext, title: str) -> str:
    """The content type a new item gets when the client sends no ContentTypeId."""
    item = ctx.web.lists.get_by_title(title).add_item({"Title": "Ny"}).execute_query()
    item = (
        ctx.web.lists.get_by_title(title)
        .get_item_by_id(item.id)
        .select(["Id", "ContentTypeId"])
        .get()
        .execute_query()
    )
    return str(item.properties["ContentTypeId"])


def _ct_lists(prov: Provisioner) -> list[str]:
    return [
        lst.title for lst in prov.project_template.lists if lst.content_types_enabled and lst.content_types
    ]


def test_new_project_site_has_the_template_content_types_only(
    prov: Provisioner, server: EmulatorServer, count_writes
) -> None:
    url = prov.project(ALFA).url
    ctx = _ctx(server, url)
    t = prov.project_template
    assert [name for _, name in _list_cts(ctx, "Usikkerhet")] == ["Risiko", "Mulighet"]
    for lst in t.lists:
        if lst.content_types_enabled and lst.content_types:
            cts = _list_cts(ctx, lst.title)
            assert not any(is_generic_item_ct(sid) for sid, _ in cts), lst.title
            assert [n for _, n in cts] == [t.content_type(ref).name for ref in lst.content_types], lst.title
    # The 44 seeded checkpoints were written after the removal: they carry «Sjekkpunkt».
    checklist = ctx.web.lists.get_by_title("Fasesjekkliste").items.select(["Id", "ContentTypeId"]).top(100)
    checkpoints = checklist.get().execute_query()
    sjekkpunkt = t.content_type("Sjekkpunkt").id.upper()
    assert len(checkpoints) == 44
    assert all(str(i.properties["ContentTypeId"]).upper().startswith(sjekkpunkt) for i in checkpoints)
    server.log.reset()
    assert prov.project(ALFA).outcome == "up to date" and count_writes() == 0
    assert _new_item_ct(ctx, "Usikkerhet").upper().startswith(RISIKO.upper())


def test_older_site_converges_and_an_item_content_type_in_use_is_kept(
    prov: Provisioner, server: EmulatorServer, count_writes, monkeypatch
) -> None:
    # A site provisioned before this rule: «Element» first on every list, so the default.
    with monkeypatch.context() as m:
        m.setattr(plan_module, "_plan_default_content_type", lambda *a, **k: None)
        url = prov.project(ALFA).url
    ctx = _ctx(server, url)
    assert is_generic_item_ct(_new_item_ct(ctx, "Interessentregister"))  # a user item of type «Element»
    assert is_generic_item_ct(_list_cts(ctx, "Usikkerhet")[0][0])

    planned = prov.project(ALFA, dry_run=True).plan
    assert planned is not None
    removals = sorted(s.list for s in planned.steps if s.action == "remove_content_type")
    keys = {lst.title: lst.key for lst in prov.project_template.lists}
    # Fasesjekkliste's seeded checkpoints got «Element» on that older site too: kept there as well.
    kept = {"Interessentregister", "Fasesjekkliste"}
    assert removals == sorted(keys[t] for t in _ct_lists(prov) if t not in kept)
    assert {d.list for d in planned.drift} >= {keys[t] for t in kept}
    assert prov.project(ALFA).ok

    assert _new_item_ct(ctx, "Usikkerhet").upper().startswith(RISIKO.upper())
    assert [n for _, n in _list_cts(ctx, "Usikkerhet")] == ["Risiko", "Mulighet"]
    assert is_generic_item_ct(_list_cts(ctx, "Interessentregister")[0][0])  # in use: never removed
    server.log.reset()
    again = prov.project(ALFA)
    assert again.ok and count_writes() == 0
    assert again.plan is not None and any("generic content type" in d.message for d in again.plan.drift)


@pytest.mark.parametrize("title", ["Usikkerhet"])
def test_dry_run_shows_the_removal_in_the_plan(prov: Provisioner, title: str) -> None:
    planned = prov.project(ALFA, dry_run=True).plan
    assert planned is not None
    key = next(lst.key for lst in prov.project_template.lists if lst.title == title)
    steps = [(s.action, s.list) for s in planned.steps]
    assert steps.index(("bind_content_type", key)) < steps.index(("remove_content_type", key))
    assert "remove content type" in planned.summary()
