"""How SharePoint derives URLs, entity type names and internal names from titles.

See docs/emulator.md, "List URLs and entity type names" and "Internal names": every character outside
``[A-Za-z0-9]`` becomes ``_xHHHH_`` (lower-case hex of the UTF-16 code unit) in entity names;
field internal names keep ``_`` and are cut to 32 characters (even through an escape).
"""

from __future__ import annotations

import re

MAX_INTERNAL_NAME = 32
_URL_KEEP = re.compile(r"[^A-Za-z0-9 _\-]")


def xml_encode(text: str, keep_underscore: bool = False) -> str:
    """Encode every character outside ``[A-Za-z0-9]`` (and ``_`` if kept) as ``_xHHHH_``."""
    out: list[str] = []
    for ch in text:
        if ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ("0" <= ch <= "9") or (keep_underscore and ch == "_"):
            out.append(ch)
        else:
            units = ch.encode("utf-16-be")
            for i in range(0, len(units), 2):
                out.append(f"_x{units[i]:02x}{units[i + 1]:02x}_")
    return "".join(out)


def list_url_leaf(title: str) -> str:
    """The URL leaf SharePoint gives a list created from ``title`` (æ/ø/å and other symbols dropped)."""
    leaf = _URL_KEEP.sub("", title).strip()
    return leaf or "List"


# Document libraries (101) and the Site Pages library (119) live at the site root and name their
# entity types without the List suffix.
LIBRARY_TEMPLATES = frozenset({101, 119})


def list_entity_type_name(url_leaf: str, base_template: int = 100) -> str:
    """``EntityTypeName`` for a list URL leaf: ``My_x0020_ListList`` (libraries: no suffix)."""
    enc = xml_encode(url_leaf)
    return enc if base_template in LIBRARY_TEMPLATES else f"{enc}List"


def list_item_entity_type_full_name(url_leaf: str, base_template: int = 100) -> str:
    """``ListItemEntityTypeFullName``: ``SP.Data.<enc>ListItem`` (libraries ``SP.Data.<enc>Item``)."""
    enc = xml_encode(url_leaf)
    return f"SP.Data.{enc}Item" if base_template in LIBRARY_TEMPLATES else f"SP.Data.{enc}ListItem"


def field_internal_name(title: str) -> str:
    """The internal name SharePoint derives from a field's display title (32-char truncation)."""
    return xml_encode(title, keep_underscore=True)[:MAX_INTERNAL_NAME] or "Field"


def unique_internal_name(base: str, taken: set[str]) -> str:
    """``base`` or ``base0``, ``base1``, … (kept within 32 characters) if already taken."""
    lowered = {t.lower() for t in taken}
    if base.lower() not in lowered:
        return base
    n = 0
    while True:
        suffix = str(n)
        cand = base[: MAX_INTERNAL_NAME - len(suffix)] + suffix
        if cand.lower() not in lowered:
            return cand
        n += 1


def entity_property_name(internal_name: str) -> str:
    """The JSON key of a field on items: a leading ``_`` gets ``OData_`` in front."""
    return f"OData_{internal_name}" if internal_name.startswith("_") else internal_name
