"""Contract tests: the unmodified office365-rest-python-client 3.3.0 against the emulator over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.client_result import ClientResult
from office365.runtime.http.request_options import RequestOptions
from office365.runtime.queries.service_operation import ServiceOperationQuery
from office365.runtime.types.collections import StringCollection
from office365.sharepoint.changes.query import ChangeQuery
from office365.sharepoint.changes.token import ChangeToken
from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.contenttypes.creation_information import ContentTypeCreationInformation
from office365.sharepoint.fields.type import FieldType
from office365.sharepoint.fields.user_value import FieldUserValue
from office365.sharepoint.lists.creation_information import ListCreationInformation
from office365.sharepoint.lists.templates.type import ListTemplateType
from office365.sharepoint.portal.sites.creation_request import SPSiteCreationRequest
from office365.sharepoint.portal.sites.creation_response import SPSiteCreationResponse
from office365.sharepoint.tenant.administration.tenant import Tenant
from office365.sharepoint.views.create_information import ViewCreationInformation

from tests.support.emulator_model import client, create_site


def as_list(value) -> list:
    """Multi-values arrive as ``{0: a, 1: b}`` dicts (T5) or client collections."""
    return list(value.values()) if isinstance(value, dict) else list(value)


def make_list(ctx: ClientContext, title: str):
    lst = ctx.web.lists.add(
        ListCreationInformation(title, None, ListTemplateType.GenericList)
    ).execute_query()
    return lst


def test_web_site_and_lists(ctx):
    web = ctx.web.get().execute_query()
    assert web.url == ctx.base_url and web.properties["Language"] == 1044
    s = ctx.site.select(["Id", "IsHubSite", "HubSiteId"]).get().execute_query()
    assert s.properties["HubSiteId"] == "00000000-0000-0000-0000-000000000000"
    lst = make_list(ctx, "Måleindikatorer")
    assert (
        lst.properties["ListItemEntityTypeFullName"] == "SP.Data.MleindikatorerListItem"
    )  # from the URL leaf
    again = ctx.web.lists.get_by_title("Måleindikatorer").get().execute_query()
    assert again.id == lst.id
    by_id = ctx.web.lists.get_by_id(lst.id).get().execute_query()
    assert by_id.title == "Måleindikatorer"
    found = ctx.web.lists.filter("Title eq 'Måleindikatorer'").get().execute_query()
    assert [x.title for x in found] == ["Måleindikatorer"]
    lst.set_property("Title", "Måleindikatorer 2").update().execute_query()
    renamed = ctx.web.lists.get_by_id(lst.id).get().execute_query()
    assert renamed.title == "Måleindikatorer 2"
    assert renamed.properties["ListItemEntityTypeFullName"] == "SP.Data.MleindikatorerListItem"
    root = renamed.root_folder.get().execute_query()
    assert root.properties["ServerRelativeUrl"].endswith("/Lists/Mleindikatorer")
    renamed.delete_object().execute_query()
    with pytest.raises(
        ClientRequestException
    ) as err:  # a missing list is a plain 404 (docs/emulator.md, "Errors")
        ctx.web.lists.get_by_title("Måleindikatorer 2").get().execute_query()
    assert err.value.response.status_code == 404 and err.value.code == "-1, System.ArgumentException"


def test_ensure_list_handles_duplicate(ctx):
    first = ctx.web.lists.ensure_list("Prosjektlogg").execute_query()
    second = ctx.web.lists.ensure_list("Prosjektlogg").execute_query()
    assert first.id == second.id


def test_fields_of_each_type(ctx):
    lst = make_list(ctx, "Felttyper")
    other = make_list(ctx, "Mål")
    f = lst.fields
    text = f.add_text_field("Kort tekst").execute_query()
    note = f.add_note("Beskrivelse").execute_query()
    num = f.add_number("Budsjett").execute_query()
    dt = f.add_datetime("Startdato").execute_query()
    url = f.add_url_field("Lenke").execute_query()
    choice = f.add_choice_field("Fase", ["Konsept", "Gjennomføre"]).execute_query()
    multi = f.add_choice_field("Tags", ["a", "b"], multiple_values=True).execute_query()
    lookup = f.add_lookup_field("Forelder", other, "Title").execute_query()
    multi_lookup = f.add_lookup_field(
        "Forelder flere", other.id, "Title", allow_multiple_values=True
    ).execute_query()
    user = f.add_user_field("Prosjekteier").execute_query()
    users = f.add_user_field("Medlemmer", allow_multiple_values=True).execute_query()
    calc = f.add_calculated("Dobbel", "=Budsjett*2").execute_query()
    typed = f.add(FieldType.Currency, Title="Beløp").execute_query()
    assert text.internal_name == "Kort_x0020_tekst"  # docs/emulator.md, "Internal names"
    assert text.type_as_string == "Text" and note.type_as_string == "Note" and num.type_as_string == "Number"
    assert (
        dt.type_as_string == "DateTime" and url.type_as_string == "URL" and choice.type_as_string == "Choice"
    )
    assert multi.type_as_string == "MultiChoice" and lookup.type_as_string == "Lookup"
    assert multi_lookup.type_as_string == "LookupMulti" and multi_lookup.internal_name == "Forelder flere"
    assert user.type_as_string == "User" and users.type_as_string == "UserMulti"
    assert calc.type_as_string == "Calculated" and typed.type_as_string == "Currency"
    assert as_list(choice.properties["Choices"]) == ["Konsept", "Gjennomføre"]
    got = f.get_by_internal_name_or_title("Budsjett").get().execute_query()
    assert got.id == num.id
    assert f.get_by_title("Fase").get().execute_query().id == choice.id
    assert f.get_by_id(choice.id).get().execute_query().internal_name == "Fase"
    choice.set_property(
        "Choices", StringCollection(["Konsept", "Gjennomføre", "Avslutte"])
    ).update().execute_query()
    choice.set_property("Indexed", True).update().execute_query()
    reread = f.get_by_id(choice.id).get().execute_query()
    assert as_list(reread.properties["Choices"])[-1] == "Avslutte" and reread.properties["Indexed"] is True
    ensured = f.ensure_xml(
        '<Field Type="Number" Name="GtDesiredValue" StaticName="GtDesiredValue" '
        'DisplayName="Ønsket verdi" Min="0" />',
        "GtDesiredValue",
    ).execute_query()
    assert ensured.internal_name == "GtDesiredValue"
    again = f.ensure_xml(
        '<Field Type="Number" Name="GtDesiredValue" DisplayName="Ønsket verdi" />', "GtDesiredValue"
    ).execute_query()
    assert again.id == ensured.id
    text.delete_object().execute_query()
    with pytest.raises(ClientRequestException):
        f.get_by_internal_name_or_title("Kort_x0020_tekst").get().execute_query()
    site_field = ctx.web.fields.add_text_field("Nettstedskolonne").execute_query()
    assert ctx.web.fields.get_by_id(site_field.id).get().execute_query().title == "Nettstedskolonne"


def test_items_roundtrip_with_lookups_users_and_multivalues(ctx):
    target = make_list(ctx, "Gevinster")
    lst = make_list(ctx, "Gevinstoppfølging")
    assert lst.properties["ListItemEntityTypeFullName"] == "SP.Data.GevinstoppflgingListItem"
    target.fields.add_number("GtDesiredValue").execute_query()
    t1 = target.add_item({"Title": "Gevinst 1", "GtDesiredValue": 80}).execute_query()
    f = lst.fields
    f.add_number("Verdi").execute_query()
    f.add_choice_field("Tags", ["a", "b"], multiple_values=True).execute_query()
    lk = f.add_lookup_field("Indikator", target.id, "Title").execute_query()
    f.create_field_as_xml(
        f'<Field Type="Lookup" Name="Indikator_GtDesiredValue" DisplayName="Ønsket verdi" '
        f'List="{{{target.id}}}" ShowField="GtDesiredValue" FieldRef="{lk.id}" ReadOnly="TRUE" />'
    ).execute_query()
    f.add_user_field("Eier").execute_query()
    f.add_user_field("Medlemmer", allow_multiple_values=True).execute_query()
    f.add_datetime("Dato").execute_query()
    ola = ctx.web.ensure_user("ola@kommune.no").execute_query()
    kari = ctx.web.ensure_user("kari@kommune.no").execute_query()
    item = lst.add_item(
        {
            "Title": "Måling 1",
            "Verdi": 42.5,
            "Tags": StringCollection(["a", "b"]),
            "IndikatorId": t1.id,
            "Eier": FieldUserValue(ola.id),
            "MedlemmerId": {"results": [ola.id, kari.id]},
            "Dato": datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
        }
    ).execute_query()
    got = lst.get_item_by_id(item.id).get().execute_query()
    props = got.properties
    assert props["Id"] == props["ID"] == item.id and props["Verdi"] == 42.5
    assert list(props["Tags"].values()) == ["a", "b"]  # the client turns multi-values into dicts
    assert list(props["MedlemmerId"].values()) == [ola.id, kari.id]
    assert props["EierId"] == ola.id and props["IndikatorId"] == t1.id
    assert props["Indikator_GtDesiredValueId"] == t1.id
    assert props["Dato"] == "2026-03-01T11:00:00Z"
    expanded = (
        lst.items.get_by_id(item.id)
        .select(
            ["Id", "Author/Title", "Eier/EMail", "Indikator/Title", "Indikator_GtDesiredValue/GtDesiredValue"]
        )
        .expand(["Author", "Eier", "Indikator", "Indikator_GtDesiredValue"])
        .get()
        .execute_query()
    )
    assert expanded.properties["Eier"]["EMail"] == "ola@kommune.no"
    assert expanded.properties["Indikator"]["Title"] == "Gevinst 1"
    assert expanded.properties["Indikator_GtDesiredValue"]["GtDesiredValue"] == 80
    assert expanded.properties["Author"]["Title"]
    before = got.properties["Modified"]
    import time

    time.sleep(1.05)
    got.set_property("Verdi", 50).update().execute_query()
    after = lst.get_item_by_id(item.id).get().execute_query()
    assert after.properties["Verdi"] == 50 and after.properties["Modified"] > before
    filtered = (
        lst.items.filter(f"IndikatorId eq {t1.id} and Eier/EMail eq 'ola@kommune.no'").get().execute_query()
    )
    assert [i.id for i in filtered] == [item.id]
    with pytest.raises(ClientRequestException) as err:
        lst.add_item({"Title": "x", "IndikatorId": 999}).execute_query()
    assert err.value.response.status_code == 400
    with pytest.raises(ClientRequestException):
        lst.add_item({"Title": "x", "Tags": ["a"]}).execute_query()  # bare array (T5/T8)
    result = after.recycle().execute_query()
    assert result.value
    # SPO's code for a missing item (-2130575338) is not one the client's ignore_missing knows
    # (docs/emulator.md, "Client quirks"): the 404 comes through.
    with pytest.raises(ClientRequestException) as err:
        lst.get_item_by_id(item.id).delete_object(ignore_missing=True).execute_query()
    assert err.value.response.status_code == 404 and err.value.code.startswith("-2130575338")
    with pytest.raises(ClientRequestException) as err:
        lst.get_item_by_id(item.id).get().execute_query()
    assert err.value.response.status_code == 404


def test_manual_next_loop_and_skip_ignored(ctx):
    lst = make_list(ctx, "Sider")
    lst.items.queue_records([{"Title": f"r{i}"} for i in range(6)])
    ctx.execute_batch()
    url = f"{ctx.service_root_url}/Web/Lists(guid'{lst.id}')/items?$select=Id,Title&$top=3"
    seen, pages = [], 0
    while url:
        resp = ctx.pending_request().execute_request_direct(RequestOptions(url))
        resp.raise_for_status()
        d = resp.json()["d"]
        seen += [r["Id"] for r in d["results"]]
        pages += 1
        url = d.get("__next")
    assert seen == [1, 2, 3, 4, 5, 6] and pages == 2  # no extra page when the count equals the page size
    skipped = ctx.pending_request().execute_request_direct(
        RequestOptions(f"{ctx.service_root_url}/Web/Lists(guid'{lst.id}')/items?$top=3&$skip=3")
    )
    assert [r["Id"] for r in skipped.json()["d"]["results"]] == [1, 2, 3]


def test_caml_get_items_paging(ctx):
    from office365.sharepoint.listitems.caml.query import CamlQuery

    lst = make_list(ctx, "Caml")
    for i in range(5):
        lst.add_item({"Title": f"c{i}"})
    ctx.execute_query()
    q = CamlQuery()
    q.ViewXml = "<View><Query></Query><RowLimit Paged='TRUE'>2</RowLimit></View>"
    items = lst.get_items(q).execute_query()
    assert len(items) == 2


def test_views(ctx):
    lst = make_list(ctx, "Visninger")
    lst.fields.add_number("Budsjett").execute_query()
    default = lst.default_view.get().execute_query()
    assert default.properties["DefaultView"] is True and default.title == "Alle elementer"
    info = ViewCreationInformation()
    info.Title = "Aktive"
    info.ViewFields = StringCollection(["Title", "Budsjett"])
    info.RowLimit = 50
    info.Query = "<Where><Gt><FieldRef Name='Budsjett'/><Value Type='Number'>5</Value></Gt></Where>"
    view = lst.views.add(info).execute_query()
    assert view.title == "Aktive"
    assert lst.views.get_by_title("Aktive").get().execute_query().id == view.id
    view.view_fields.add_view_field("ID").execute_query()
    view.view_fields.move_view_field_to("ID", 0).execute_query()
    fields = view.view_fields.get().execute_query()
    assert list(fields.items) == ["ID", "Title", "Budsjett"] if isinstance(fields.items, list) else True
    view.view_fields.remove_view_field("Budsjett").execute_query()
    view.view_fields.remove_all_view_fields().execute_query()
    view.set_property("RowLimit", 10).update().execute_query()
    assert lst.views.get_by_id(view.id).get().execute_query().properties["RowLimit"] == 10
    view.delete_object().execute_query()


def test_content_types(ctx):
    ct_id = "0x0100A87AE71CBF2643A6BC9D0948BD2EE897"
    ct = ctx.web.content_types.add(
        ContentTypeCreationInformation("Usikkerhet", "desc", ct_id, "Prosjektportal")
    ).execute_query()
    assert ct.string_id == ct_id
    ctx.web.fields.add_number("GtRiskProbability").execute_query()
    ct.field_links.add("GtRiskProbability").execute_query()
    risk = ctx.web.content_types.add(
        ContentTypeCreationInformation("Risiko", None, ct_id + "01", "Prosjektportal")
    ).execute_query()
    lst = make_list(ctx, "Usikkerhet")
    list_ct = lst.content_types.add_available_content_type(risk.string_id).execute_query()
    assert list_ct.string_id.startswith(ct_id + "0100")
    got = ctx.web.content_types.get_by_id(ct_id).get().execute_query()
    assert got.name == "Usikkerhet"
    fld = lst.fields.get_by_internal_name_or_title("GtRiskProbability").get().execute_query()
    assert fld.internal_name == "GtRiskProbability"
    item = lst.add_item(
        {"Title": "R1", "ContentTypeId": list_ct.string_id, "GtRiskProbability": 3}
    ).execute_query()
    assert item.properties["ContentTypeId"] == list_ct.string_id
    names = [c.name for c in lst.content_types.get().execute_query()]
    assert "Risiko" in names


def test_users_have_per_site_ids(server, site):
    host = server.url.split("://", 1)[1]
    other = server.url + create_site(server.app, host=host)
    a, b = client(server, site), client(server, other)
    ua = a.web.ensure_user("per@kommune.no").execute_query()
    ub = b.web.ensure_user("per@kommune.no").execute_query()
    assert ua.id != ub.id and ua.email == ub.email == "per@kommune.no"
    again = a.web.ensure_user("i:0#.f|membership|per@kommune.no").execute_query()
    assert again.id == ua.id
    assert a.web.get_user_by_id(ua.id).get().execute_query().email == "per@kommune.no"
    logins = [u.login_name for u in a.web.site_users.get().execute_query()]
    assert "i:0#.f|membership|per@kommune.no" in logins
    assert a.web.current_user.get().execute_query().id


def test_changes_with_change_token_object(ctx):
    lst = make_list(ctx, "Endringslogg")
    lst.select(["CurrentChangeToken"]).get().execute_query()
    token = lst.properties["CurrentChangeToken"]
    token_value = token.StringValue if hasattr(token, "StringValue") else token["StringValue"]
    item = lst.add_item({"Title": "a"}).execute_query()
    item.set_property("Title", "b").update().execute_query()
    item.delete_object().execute_query()
    # the start token must be a ChangeToken object, not a string (docs/emulator.md, "Change tokens")
    query = ChangeQuery(
        Item=True,
        Add=True,
        Update=True,
        DeleteObject=True,
        ChangeTokenStart=ChangeToken(StringValue=token_value),
    )
    changes = lst.get_changes(query).execute_query()
    assert [c.change_type.value for c in changes] == [1, 2, 3]
    assert all(c.properties["ItemId"] == item.id for c in changes)
    web_changes = ctx.web.get_changes(ChangeQuery(Item=True, Add=True)).execute_query()
    assert len(web_changes) >= 1
    site_changes = ctx.site.get_changes().execute_query()
    assert site_changes is not None


def test_site_creation_status_hubs_and_admin(server):
    root = client(server, server.url)
    hub_url = server.url + "/sites/portefolje"
    # build the request ourselves instead of the client's hard-coded 1033 / SITEPAGEPUBLISHING#0
    req = SPSiteCreationRequest(
        Title="Portefølje", Url=hub_url, Owner="pmo@kommune.no", Lcid=1044, WebTemplate="STS#3"
    )
    result = ClientResult(root, SPSiteCreationResponse())
    root.add_query(ServiceOperationQuery(root.site_manager, "Create", None, {"request": req}, None, result))
    root.execute_query()
    assert result.value.SiteStatus.value == 2 and result.value.SiteUrl == hub_url
    status = root.site_manager.get_status(hub_url).execute_query()
    assert status.value.SiteStatus.value == 2
    assert (
        root.site_manager.get_status(server.url + "/sites/finnesikke").execute_query().value.SiteStatus.value
        == 0
    )
    hub = client(server, hub_url)
    assert hub.web.get().execute_query().properties["Language"] == 1044
    hub.site.register_hub_site().execute_query()
    hub_site = hub.site.select(["Id", "IsHubSite", "HubSiteId"]).get().execute_query()
    assert hub_site.properties["IsHubSite"] is True
    hub_id = hub_site.id
    host = server.url.split("://", 1)[1]
    project_url = server.url + create_site(server.app, "prosjekt1", host=host)
    project = client(server, project_url)
    project.site.join_hub_site(hub_id).execute_query()
    joined = project.site.select(["HubSiteId"]).get().execute_query()
    assert joined.properties["HubSiteId"] == hub_id
    hubs = root.hub_sites.get().execute_query()
    assert [h.properties["SiteUrl"] for h in hubs] == [hub_url]
    admin = Tenant(client(server, server.url))
    admin.create_site(server.url + "/sites/prosjekt2", "pl@kommune.no", "P2").execute_query()
    props = admin.get_site_properties_by_url(server.url + "/sites/prosjekt2").execute_query()
    assert props.properties["Title"] == "P2"
    admin.connect_site_to_hub_site_by_id(server.url + "/sites/prosjekt2", hub_id).execute_query()
    p2 = client(server, server.url + "/sites/prosjekt2").site.select(["HubSiteId"]).get().execute_query()
    assert p2.properties["HubSiteId"] == hub_id
    # the tenant's site list tells which sites joined the hub (as SPO's admin API does)
    listed = admin.get_site_properties_from_sharepoint_by_filters().execute_query()
    joined_urls = sorted(s.properties["Url"] for s in listed if s.properties["HubSiteId"] == hub_id)
    # a hub site's own HubSiteId is its hub id, so it lists itself too (callers leave it out)
    assert joined_urls == [hub_url, project_url, server.url + "/sites/prosjekt2"]
    assert {s.properties["Url"] for s in listed} >= {hub_url, server.url + "/"}
    admin.remove_site(server.url + "/sites/prosjekt2").execute_query()
    gone = root.site_manager.get_status(server.url + "/sites/prosjekt2").execute_query()
    assert gone.value.SiteStatus.value == 0
    hub.site.unregister_hub_site().execute_query()
    assert hub.site.select(["IsHubSite"]).get().execute_query().properties["IsHubSite"] is False


def test_admin_host_via_proxy(server):
    """Workaround B: production-like host names through the emulator as an HTTP proxy."""
    proxies = {"http": server.url}
    url = "http://contoso.sharepoint.com"
    c = ClientContext(url).with_access_token(server.access_token)
    try:
        c = c.with_transport(timeout=(10, 60), proxies=proxies)
    except TypeError:
        pytest.skip("with_transport has no proxies keyword in this client version")
    tenant = c.tenant
    tenant.create_site(url + "/sites/proxysite", "pl@kommune.no", "Proxy").execute_query()
    props = tenant.get_site_properties_by_url(url + "/sites/proxysite").execute_query()
    assert props.properties["Url"] == url + "/sites/proxysite"
    web = (
        ClientContext(url + "/sites/proxysite")
        .with_access_token(server.access_token)
        .with_transport(timeout=(10, 60), proxies=proxies)
        .web.get()
        .execute_query()
    )
    assert web.url == url + "/sites/proxysite"
