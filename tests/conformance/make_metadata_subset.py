"""Derive ``data/spo-metadata-subset.json`` from SharePoint Online's ``$metadata`` (CSDL XML).

Not run in CI. Usage::

    git --git-dir=<mirror of vgrem/Office365-REST-Python-Client> show HEAD:generator/metadata/SharePoint.xml \
        > /tmp/SharePoint.xml
    python tests/conformance/make_metadata_subset.py /tmp/SharePoint.xml --commit <sha> \
        > tests/conformance/data/spo-metadata-subset.json

Only the entity and complex types the emulator can emit are kept (``WANTED``), with their base
types and the complex types their properties use: for each, its kind, base type, whether it is
open, its properties' Edm types and nullability, and its navigation property names.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from typing import Any

EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"

# The types the emulator renders (docs/emulator.md, "Conformance"): entity and complex types.
WANTED = [
    "SP.Web",
    "SP.Site",
    "SP.List",
    "SP.ListItem",
    "SP.Data.UserInfoItem",
    "SP.Folder",
    "SP.File",
    "SP.Field",
    "SP.FieldText",
    "SP.FieldMultiLineText",
    "SP.FieldNumber",
    "SP.FieldCurrency",
    "SP.FieldDateTime",
    "SP.FieldChoice",
    "SP.FieldMultiChoice",
    "SP.FieldLookup",
    "SP.FieldUser",
    "SP.FieldUrl",
    "SP.FieldCalculated",
    "SP.FieldComputed",
    "SP.FieldGuid",
    "SP.FieldRatingScale",
    "SP.FieldGeolocation",
    "SP.FieldLocation",
    "SP.FieldThumbnail",
    "SP.Taxonomy.TaxonomyField",
    "SP.ContentType",
    "SP.FieldLink",
    "SP.View",
    "SP.ViewFieldCollection",
    "SP.User",
    "SP.Group",
    "SP.Principal",
    "SP.RecycleBinItem",
    "SP.ListItemVersion",
    "SP.RelatedField",
    "SP.PropertyValues",
    "SP.FieldStringValues",
    "SP.HubSite",
    "SP.ChangeToken",
    "SP.ContentTypeId",
    "SP.FieldUrlValue",
    "SP.Taxonomy.TaxonomyFieldValue",
    "SP.ListItemFormUpdateValue",
    "SP.ContextWebInformation",
    "SP.BasePermissions",
    "SP.UserIdInfo",
    "SP.ListItemCollectionPosition",
    "SP.FieldLookupValue",
    "SP.FieldUserValue",
    "SP.ResourcePath",
    "SP.Change",
    "SP.ChangeItem",
    "SP.ChangeList",
    "SP.ChangeWeb",
    "SP.ChangeSite",
    "SP.ChangeField",
    "SP.ChangeContentType",
    "SP.ChangeView",
    "SP.ChangeUser",
    "SP.ChangeFolder",
    "SP.ChangeFile",
    "SP.ChangeGroup",
    "SP.ChangeAlert",
    "Microsoft.SharePoint.Portal.SPSiteCreationResponse",
    "Microsoft.Online.SharePoint.TenantAdministration.SiteProperties",
    "Microsoft.Online.SharePoint.TenantAdministration.HubSiteProperties",
    "Microsoft.Online.SharePoint.TenantAdministration.SpoOperation",
]


def read_types(xml_path: str) -> dict[str, dict[str, Any]]:
    types: dict[str, dict[str, Any]] = {}
    root = ET.parse(xml_path).getroot()
    for schema in root.iter(EDM + "Schema"):
        ns = schema.get("Namespace", "")
        for kind in ("EntityType", "ComplexType"):
            for el in schema.findall(EDM + kind):
                props = {
                    p.get("Name", ""): {
                        "type": p.get("Type", ""),
                        "nullable": p.get("Nullable", "true").lower() != "false",
                    }
                    for p in el.findall(EDM + "Property")
                }
                types[f"{ns}.{el.get('Name')}"] = {
                    "kind": "entity" if kind == "EntityType" else "complex",
                    "base": el.get("BaseType"),
                    "open": el.get("OpenType", "false").lower() == "true",
                    "properties": props,
                    "navigation": sorted(n.get("Name", "") for n in el.findall(EDM + "NavigationProperty")),
                }
    return types


def subset(types: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keep: dict[str, dict[str, Any]] = {}
    todo = [t for t in WANTED if t in types]
    while todo:
        name = todo.pop()
        if name in keep or name not in types:
            continue
        keep[name] = types[name]
        if types[name]["base"]:
            todo.append(types[name]["base"])
        for prop in types[name]["properties"].values():
            inner = prop["type"].removeprefix("Collection(").removesuffix(")")
            if inner in types and types[inner]["kind"] == "complex":
                todo.append(inner)
    return dict(sorted(keep.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("xml", help="path of SharePoint.xml ($metadata)")
    parser.add_argument("--commit", required=True, help="commit of the repository the XML comes from")
    parser.add_argument("--repository", default="vgrem/Office365-REST-Python-Client")
    parser.add_argument("--path", default="generator/metadata/SharePoint.xml")
    args = parser.parse_args(argv)
    types = read_types(args.xml)
    missing = [t for t in WANTED if t not in types]
    out = {
        "origin": {"repository": args.repository, "path": args.path, "commit": args.commit},
        "note": "Derived by tests/conformance/make_metadata_subset.py; only the types the emulator emits.",
        "absent_from_metadata": missing,
        "types": subset(types),
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
