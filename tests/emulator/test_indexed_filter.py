"""Equality filters on an indexed text column go through the store's index (docs/emulator.md,
"Indexed columns"): the same answers as a scan, kept right by creates, updates and deletes."""

from __future__ import annotations

from tests.support.sync import client, make_site

SCHEMA = (
    '<Field Type="Text" Name="{name}" StaticName="{name}" DisplayName="{name}" '
    'ID="{{{id}}}" Indexed="{indexed}" />'
)


def _site_with_list(server):
    site = make_site(server, "indeks")
    site.call(
        "POST",
        "Web/lists",
        {"Title": "Nokler", "BaseTemplate": 100, "Description": "", "__metadata": {"type": "SP.List"}},
    )
    for name, fid, indexed in (
        ("Kode", "6c0c33d4-50a3-4a2e-9a8e-3f3a9c2a0001", "TRUE"),
        ("Fri", "6c0c33d4-50a3-4a2e-9a8e-3f3a9c2a0002", "FALSE"),
    ):
        site.call(
            "POST",
            "Web/lists/GetByTitle('Nokler')/Fields/CreateFieldAsXml",
            {
                "parameters": {
                    "SchemaXml": SCHEMA.format(name=name, id=fid, indexed=indexed),
                    "__metadata": {"type": "SP.XmlSchemaFieldCreationInformation"},
                }
            },
        )
    rows = [{"Title": f"T{i}", "Kode": f"k{i % 7}", "Fri": f"k{i % 7}"} for i in range(60)]
    assert all(r.ok for r in site.create_items("Nokler", rows))
    return site


def _ids(site, flt: str) -> list[int]:
    return [int(r["ID"]) for r in site.iter_items("Nokler", select=["ID"], filter=flt)]


def test_indexed_equality_answers_as_a_scan(server):
    site = _site_with_list(server)
    for values in (["k3"], ["k1", "k5"], ["mangler"], ["k2", "k2"]):
        indexed = " or ".join(f"Kode eq '{v}'" for v in values)
        scanned = " or ".join(f"Fri eq '{v}'" for v in values)
        assert _ids(site, indexed) == _ids(site, scanned)
    assert _ids(site, "Kode eq 'k3'") == [i for i in range(1, 61) if (i - 1) % 7 == 3]
    list_id = site.resolve_list("Nokler").id
    built = server.app.store._indexes[list_id.strip("{}").lower()]  # the indexed column only
    assert set(built) == {"Kode"}


def test_the_index_follows_updates_and_deletes(server):
    site = _site_with_list(server)
    first = _ids(site, "Kode eq 'k0'")  # builds the index
    moved, gone = first[0], first[1]
    assert all(r.ok for r in site.update_items("Nokler", {moved: {"Kode": "ny"}}))
    site.call("DELETE", f"Web/lists/GetByTitle('Nokler')/items({gone})")
    assert all(r.ok for r in site.create_items("Nokler", [{"Title": "sist", "Kode": "k0"}]))
    after = _ids(site, "Kode eq 'k0'")
    assert moved not in after and gone not in after and after[:-1] == first[2:] and after[-1] == 61
    assert _ids(site, "Kode eq 'ny'") == [moved]
    assert _ids(client(server, site.url), "Kode eq 'k0' or Kode eq 'ny'") == sorted([moved, *after])
