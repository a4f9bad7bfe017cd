"""A plain-HTTP client for the conformance tests: ``requests`` against a running emulator, in the
dialect a test asks for (the office365 client speaks only verbose; PnPjs, PnP Core and the CLI for
Microsoft 365 speak ``nometadata``/``minimalmetadata``; docs/emulator.md, "Dialects").

:func:`build_site` creates one site with a list holding every field type the recordings need
(text, note, number, currency, date, choice, multichoice, URL, calculated, lookup single/multi,
person single/multi, taxonomy single/multi) and a few items, through the emulator's REST API.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from veiviser.emulator.server import EmulatorServer

VERBOSE = "application/json;odata=verbose"
NOMETADATA = "application/json;odata=nometadata"
MINIMAL = "application/json;odata=minimalmetadata"


@dataclass
class Rest:
    """Calls to one site of ``server``: ``rest.call("GET", "/_api/web", accept=NOMETADATA)``."""

    server: EmulatorServer
    site: str  # server-relative, "" for the root site
    session: requests.Session = field(default_factory=requests.Session)
    _digest: str | None = None

    @property
    def base(self) -> str:
        return self.server.url + self.site

    def digest(self) -> str:
        if self._digest is None:
            r = self.session.post(
                self.base + "/_api/contextinfo",
                headers={"Authorization": f"Bearer {self.server.token}", "Accept": VERBOSE},
                timeout=30,
            )
            r.raise_for_status()
            self._digest = r.json()["d"]["GetContextWebInformation"]["FormDigestValue"]
        return self._digest

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        accept: str = VERBOSE,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> requests.Response:
        """``method`` on ``<site><path>``; MERGE/DELETE are sent as POST with X-HTTP-Method."""
        hdrs = {"Authorization": f"Bearer {self.server.token}", "Accept": accept}
        verb = method
        if method in ("MERGE", "DELETE", "PATCH", "PUT"):
            hdrs["X-HTTP-Method"] = method
            hdrs["IF-MATCH"] = "*"
            verb = "POST"
        if verb != "GET":
            hdrs["X-RequestDigest"] = self.digest()
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = VERBOSE
        hdrs.update(headers or {})
        url = path if path.startswith("http") else self.base + path
        return self.session.request(verb, url, data=data, headers=hdrs, timeout=60)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """A verbose call that must succeed; returns ``d`` (or None for 204)."""
        r = self.call(method, path, body)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r.json()["d"] if r.content else None


def new_site(server: EmulatorServer, alias: str | None = None, lcid: int = 1033) -> Rest:
    """Create ``/sites/<alias>`` with spSiteManager/Create; a :class:`Rest` for it."""
    alias = alias or "k" + uuid.uuid4().hex[:10]
    root = Rest(server, "")
    d = root.ok(
        "POST",
        "/_api/spSiteManager/Create",
        {
            "request": {
                "__metadata": {"type": "Microsoft.SharePoint.Portal.SPSiteCreationRequest"},
                "Title": alias,
                "Url": f"{server.url}/sites/{alias}",
                "Owner": "eier@kommune.no",
                "Lcid": lcid,
                "WebTemplate": "STS#3",
            }
        },
    )
    assert d["Create"]["SiteStatus"] == 2, d
    return Rest(server, f"/sites/{alias}")


TERMSET = "abcfc9d9-a263-4abb-8234-be973c46258a"
TERMS = {
    "Konsept": "99e85650-33de-4af4-b8db-edffbc8a310b",
    "Planlegge": "cda4f1e1-3488-4e57-8a04-6973df239689",
}


def add_field(rest: Rest, list_title: str, xml: str) -> dict[str, Any]:
    d: dict[str, Any] = rest.ok(
        "POST",
        f"/_api/web/lists/getbytitle('{list_title}')/fields/CreateFieldAsXml",
        {"parameters": {"__metadata": {"type": "SP.XmlSchemaFieldCreationInformation"}, "SchemaXml": xml}},
    )
    return d


def add_list(rest: Rest, title: str, template: int = 100) -> dict[str, Any]:
    d: dict[str, Any] = rest.ok(
        "POST",
        "/_api/web/lists",
        {"__metadata": {"type": "SP.List"}, "Title": title, "BaseTemplate": template},
    )
    return d


@dataclass
class SiteData:
    """What :func:`build_site` made: the site, list ids, user ids, item ids."""

    rest: Rest
    lists: dict[str, dict[str, Any]]
    users: dict[str, int]
    items: list[int]


def build_site(server: EmulatorServer) -> SiteData:
    """One site with a target list and a list holding every field type, and three items."""
    rest = new_site(server)
    target = add_list(rest, "Targets")
    for title in ("Alpha", "Beta"):
        rest.ok(
            "POST",
            "/_api/web/lists/getbytitle('Targets')/items",
            {"__metadata": {"type": target["ListItemEntityTypeFullName"]}, "Title": title},
        )
    main = add_list(rest, "Sample")
    users = {}
    for login in ("kari@kommune.no", "ola@kommune.no"):
        users[login] = rest.ok("POST", "/_api/web/ensureuser", {"logonName": f"i:0#.f|membership|{login}"})[
            "Id"
        ]
    xmls = [
        '<Field Type="Note" Name="KNote" DisplayName="Note" NumLines="6" />',
        '<Field Type="Number" Name="KNumber" DisplayName="Number" />',
        '<Field Type="Currency" Name="KCurrency" DisplayName="Currency" LCID="1044" />',
        '<Field Type="DateTime" Name="KDate" DisplayName="Date" Format="DateOnly" />',
        '<Field Type="Choice" Name="KChoice" DisplayName="Choice"><CHOICES><CHOICE>Ja</CHOICE>'
        "<CHOICE>Nei</CHOICE></CHOICES></Field>",
        '<Field Type="MultiChoice" Name="KMulti" DisplayName="Multi"><CHOICES><CHOICE>A</CHOICE>'
        "<CHOICE>B</CHOICE><CHOICE>C</CHOICE></CHOICES></Field>",
        '<Field Type="URL" Name="KUrl" DisplayName="Url" Format="Hyperlink" />',
        '<Field Type="Calculated" Name="KCalc" DisplayName="Calc" ResultType="Number">'
        '<Formula>=KNumber*2</Formula><FieldRefs><FieldRef Name="KNumber" /></FieldRefs></Field>',
        f'<Field Type="Lookup" Name="KLookup" DisplayName="Lookup" List="{{{target["Id"]}}}" ShowField="Title" />',
        f'<Field Type="LookupMulti" Name="KLookupMulti" DisplayName="LookupMulti" List="{{{target["Id"]}}}" '
        'ShowField="Title" Mult="TRUE" />',
        '<Field Type="User" Name="KPerson" DisplayName="Person" UserSelectionMode="PeopleOnly" />',
        '<Field Type="UserMulti" Name="KPeople" DisplayName="People" UserSelectionMode="PeopleOnly" '
        'Mult="TRUE" />',
        f'<Field Type="TaxonomyFieldType" Name="KTerm" DisplayName="Term" ID="{{{uuid.uuid4()}}}">'
        "<Customization><ArrayOfProperty><Property><Name>TermSetId</Name>"
        f"<Value>{TERMSET}</Value></Property></ArrayOfProperty></Customization></Field>",
        f'<Field Type="TaxonomyFieldTypeMulti" Name="KTerms" DisplayName="Terms" ID="{{{uuid.uuid4()}}}" '
        'Mult="TRUE"><Customization><ArrayOfProperty><Property><Name>TermSetId</Name>'
        f"<Value>{TERMSET}</Value></Property></ArrayOfProperty></Customization></Field>",
    ]
    for xml in xmls:
        add_field(rest, "Sample", xml)
    entity = main["ListItemEntityTypeFullName"]
    kari, ola = users["kari@kommune.no"], users["ola@kommune.no"]
    tax = "SP.Taxonomy.TaxonomyFieldValue"
    items = []
    for n in range(3):
        body = {
            "__metadata": {"type": entity},
            "Title": f"Item {n}",
            "KNote": "Line one\nline two",
            "KNumber": 10.5 + n,
            "KCurrency": 1000 + n,
            "KDate": f"2024-03-0{n + 1}T00:00:00Z",
            "KChoice": "Ja",
            "KMulti": {"__metadata": {"type": "Collection(Edm.String)"}, "results": ["A", "C"]},
            "KUrl": {
                "__metadata": {"type": "SP.FieldUrlValue"},
                "Url": "https://example.org/",
                "Description": "Ex",
            },
            "KLookupId": 1,
            "KLookupMultiId": {"__metadata": {"type": "Collection(Edm.Int32)"}, "results": [1, 2]},
            "KPersonId": kari,
            "KPeopleId": {"__metadata": {"type": "Collection(Edm.Int32)"}, "results": [kari, ola]},
            "KTerm": {
                "__metadata": {"type": tax},
                "Label": "Konsept",
                "TermGuid": TERMS["Konsept"],
                "WssId": -1,
            },
        }
        items.append(rest.ok("POST", "/_api/web/lists/getbytitle('Sample')/items", body)["Id"])
    return SiteData(rest, {"Targets": target, "Sample": main}, users, items)
