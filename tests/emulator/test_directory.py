"""The tenant directory: EnsureUser and person values resolve only people the tenant knows
(docs/emulator.md, "Tenant directory"). Real office365 client over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.lists.creation_information import ListCreationInformation
from office365.sharepoint.tenant.administration.tenant import Tenant
from tests.support.emulator_model import client

from veiviser.cli import main
from veiviser.demo import data as demo_data
from veiviser.demo.tour import ADMIN as DEMO_ADMIN
from veiviser.emulator.model.directory import (
    Directory,
    DirectoryError,
    default_users,
    load_users,
    new_user,
)
from veiviser.emulator.server import EmulatorServer

NOT_FOUND_CODE = "-2146232832, Microsoft.SharePoint.SPException"


def test_unknown_user_gets_400_with_spo_code_and_message(ctx: ClientContext) -> None:
    with pytest.raises(ClientRequestException) as err:
        ctx.web.ensure_user("ukjent.person@kommune.no").execute_query()
    assert err.value.response.status_code == 400
    assert err.value.code == NOT_FOUND_CODE
    assert err.value.message == "The specified user ukjent.person@kommune.no could not be found."
    # nothing was added to the site
    users = ctx.web.site_users.get().execute_query()
    assert "ukjent.person@kommune.no" not in {u.email for u in users}


@pytest.mark.parametrize(
    "login", ["leder@kommune.no", "LEDER@Kommune.no", "i:0#.f|membership|leder@kommune.no"]
)
def test_known_user_resolves_by_upn_email_or_claim(ctx: ClientContext, login: str) -> None:
    user = ctx.web.ensure_user(login).execute_query()
    assert user.login_name == "i:0#.f|membership|leder@kommune.no"
    assert user.email == "leder@kommune.no"
    again = ctx.web.ensure_user("i:0#.f|membership|leder@kommune.no").execute_query()
    assert again.id == user.id


def test_get_user_by_id_of_unknown_id_answers_as_spo(ctx: ClientContext) -> None:
    # recorded: pnp/pnpcore WebTests/GetUserMissingTest-0-00002 (500, "User cannot be found.")
    with pytest.raises(ClientRequestException) as err:
        ctx.web.get_user_by_id(890879070).get().execute_query()
    assert err.value.response.status_code == 500
    assert err.value.code == NOT_FOUND_CODE and err.value.message == "User cannot be found."


def test_users_given_to_the_server_replace_the_default_directory() -> None:
    users = ["solan@flaklypa.no", {"upn": "reodor@flaklypa.no", "name": "Reodor Felgen", "id": ""}]
    with EmulatorServer(users=users) as server:
        ctx = _site_as_admin(server)
        reodor = ctx.web.ensure_user("reodor@flaklypa.no").execute_query()
        assert reodor.title == "Reodor Felgen"
        with pytest.raises(ClientRequestException) as err:
            ctx.web.ensure_user("leder@kommune.no").execute_query()
        assert err.value.response.status_code == 400
        server.add_user("ludvig@flaklypa.no", "Ludvig")
        assert ctx.web.ensure_user("ludvig@flaklypa.no").execute_query().title == "Ludvig"


def _site_as_admin(server: EmulatorServer) -> ClientContext:
    """A site whose owner is the emulator's own admin (always in the directory)."""
    root = client(server, server.url)
    Tenant(root).create_site(server.url + "/sites/flaklypa", "admin@emulator.local", "F").execute_query()
    return client(server, server.url + "/sites/flaklypa")


def test_person_field_takes_only_site_users(ctx: ClientContext) -> None:
    lst = ctx.web.lists.add(ListCreationInformation("Personer", None, 100)).execute_query()
    lst.fields.add_user_field("Ansvarlig").execute_query()
    with pytest.raises(ClientRequestException) as err:
        lst.add_item({"Title": "x", "AnsvarligId": 4711}).execute_query()
    assert err.value.response.status_code == 400
    kari = ctx.web.ensure_user("kari@kommune.no").execute_query()
    item = lst.add_item({"Title": "y", "AnsvarligId": kari.id}).execute_query()
    assert item.properties["AnsvarligId"] == kari.id


def test_default_directory_holds_every_demo_person() -> None:
    directory = Directory(default_users())
    for first in demo_data._FIRST:
        for last in demo_data._LAST:
            assert directory.find(demo_data.person(first, last).email) is not None, (first, last)
    assert directory.find(DEMO_ADMIN) is not None
    for upn in ("admin@kommune.no", "eier@kommune.no", "leder@kommune.no", "admin@emulator.local"):
        assert directory.find(upn) is not None


def test_users_file_csv_and_yaml(tmp_path: Path) -> None:
    csv_file = tmp_path / "brukere.csv"
    csv_file.write_text(
        "upn;navn;id\nkari@k.no;Kari N;0f8fad5b-d9cb-469f-a165-70867728950e\nola@k.no;;\n", encoding="utf-8"
    )
    users = load_users(csv_file)
    assert [(u.upn, u.title) for u in users] == [("kari@k.no", "Kari N"), ("ola@k.no", "Ola")]
    assert users[0].object_id == "0f8fad5b-d9cb-469f-a165-70867728950e"
    yaml_file = tmp_path / "brukere.yaml"
    yaml_file.write_text("users:\n  - upn: per@k.no\n    name: Per\n  - liv@k.no\n", encoding="utf-8")
    assert [u.upn for u in load_users(yaml_file)] == ["per@k.no", "liv@k.no"]


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("a.csv", "navn\nKari\n", "a.csv, line 1"),
        ("b.csv", "upn,name\nkari@k.no,Kari\nikke-en-adresse,Ola\n", "b.csv, line 3"),
        ("c.csv", "upn,id\nkari@k.no,42\n", "c.csv, line 2"),
        ("d.yaml", "users:\n  - upn: [\n", "d.yaml, line"),
        ("e.yaml", "users: 5\n", "e.yaml: expected a list"),
    ],
)
def test_bad_users_file_says_where(tmp_path: Path, name: str, text: str, where: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DirectoryError) as err:
        load_users(path)
    assert where in str(err.value) and err.value.hint


def test_serve_with_a_bad_users_file_fails_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text("navn\nKari\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["emulator", "serve", "--users", str(path)])
    assert result.exit_code != 0
    assert "u.csv, line 1" in result.output and "Traceback" not in result.output


def test_new_user_refuses_a_name_without_domain() -> None:
    with pytest.raises(DirectoryError):
        new_user("kari")
