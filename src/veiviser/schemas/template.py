"""The site template as data: lists, fields, content types, views and seed items.

A :class:`Template` describes one kind of site (a project site or the portfolio hub). The
provisioning engine plans from it: every list is addressed by ``ListDef.key``, every field by its
internal name within a list, every content type by its ID (or name), every view by its title and
every seed item by its key. Pydantic checks the shape; :meth:`Template.problems` checks the
meaning (cross references, choices, formulas; the rules are in
:mod:`veiviser.schemas.template_checks`) and returns every problem with its path, so a loader can
point at file and line (see :mod:`veiviser.schemas.template_loader`). The SchemaXml and CAML
renderers stay here beside the models they render.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal
from xml.sax.saxutils import escape

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# Field IDs not fixed by Prosjektportalen 365 are derived from the internal name, so one column
# has the same ID on every site veiviser builds. Sites made by PP365 have other IDs: the engine
# must match existing fields by internal name, not by ID.
FIELD_ID_NAMESPACE = uuid.UUID("6f1c1c52-4a0e-4f43-9c55-4d1f3f0e2a11")

#: Fields every list has; they may be used in views, field links and formulas without a definition.
BUILTIN_FIELDS: frozenset[str] = frozenset(
    {
        "ID", "Title", "LinkTitle", "LinkTitleNoMenu", "Modified", "Created", "Editor", "Author",
        "ContentType", "ContentTypeId", "Attachments", "DocIcon", "LinkFilename", "FileLeafRef",
        "FileRef", "_UIVersionString",
    }
)  # fmt: skip

#: Content types SharePoint already has; template content types may inherit from them.
BUILTIN_CONTENT_TYPES: Mapping[str, str] = {
    "0x01": "Element",
    "0x0101": "Dokument",
    "0x0102": "Hendelse",
    "0x0108": "Oppgave",
}

_NON_FIELD_WORDS = frozenset({"TRUE", "FALSE", "Me", "Today"})
_IDENT = re.compile(r"\[([^\]]+)\]|\"[^\"]*\"|([A-Za-z_][A-Za-z0-9_]*)(\s*\()?")

Loc = tuple[str | int, ...]


class FieldType(StrEnum):
    """SharePoint field types a template may use (``Type`` in SchemaXml, except Taxonomy)."""

    TEXT = "Text"
    NOTE = "Note"
    NUMBER = "Number"
    CURRENCY = "Currency"
    BOOLEAN = "Boolean"
    DATETIME = "DateTime"
    CHOICE = "Choice"
    MULTICHOICE = "MultiChoice"
    USER = "User"
    USERMULTI = "UserMulti"
    LOOKUP = "Lookup"
    LOOKUPMULTI = "LookupMulti"
    CALCULATED = "Calculated"
    URL = "URL"
    TAXONOMY = "Taxonomy"
    TAXONOMYMULTI = "TaxonomyMulti"


CHOICE_TYPES = frozenset({FieldType.CHOICE, FieldType.MULTICHOICE})
LOOKUP_TYPES = frozenset({FieldType.LOOKUP, FieldType.LOOKUPMULTI})
NUMERIC_TYPES = frozenset({FieldType.NUMBER, FieldType.CURRENCY})
#: Types SharePoint cannot index.
UNINDEXABLE_TYPES = frozenset(
    {
        FieldType.NOTE, FieldType.MULTICHOICE, FieldType.USERMULTI, FieldType.LOOKUPMULTI,
        FieldType.CALCULATED, FieldType.TAXONOMYMULTI,
    }
)  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TaxonomyCompat(_Model):
    """Marks a Choice field that stands in for a Prosjektportalen 365 taxonomy field.

    Readers must accept both our Choice string and the taxonomy value PP365 stores
    (``{"Label": …, "TermGuid": …}`` or ``"-1;#Label|guid"``); writers to PP365 sites may need the term.
    """

    term_set: str = Field(description="Term set name in PP365, e.g. «Fase».")
    term_set_id: str = Field(description="Term set GUID in the PP365 term store.")
    multi: bool = Field(False, description="PP365 field is TaxonomyMulti.")


class FieldDef(_Model):
    """One field (column) of a list; ``name`` is the internal name and the field's key."""

    name: str = Field(description="Internal name (also StaticName), ASCII, e.g. GtRiskProbability.")
    display_name: str = Field(description="Display name (nb-NO).")
    type: FieldType
    id: uuid.UUID | None = Field(None, description="Fixed field ID; derived from the name when absent.")
    description: str | None = None
    required: bool = False
    indexed: bool = False
    hidden: bool = False
    read_only: bool = False
    unique: bool = Field(
        False, description="EnforceUniqueValues (needs indexed): guards sync keys against duplicates."
    )
    show_in_new_form: bool = True
    show_in_edit_form: bool = True
    default: str | int | float | bool | None = Field(
        None, description="Default value; for Choice one of the choices, for DateTime '[today]'."
    )
    choices: list[str] = Field(default_factory=list, description="Choice/MultiChoice values, in order.")
    fill_in: bool = Field(False, description="Choice: FillInChoice allowed.")
    format: str | None = Field(
        None,
        description="Choice: Dropdown|RadioButtons; DateTime: DateOnly|DateTime; User: PeopleOnly; URL: Hyperlink|Image.",
    )
    min: float | None = None
    max: float | None = None
    decimals: int | None = Field(None, ge=0, le=10)
    percentage: bool = Field(False, description="Number shown as percentage (stored as a fraction).")
    max_length: int | None = Field(None, ge=1, le=255, description="Text: maximum length.")
    number_of_lines: int | None = Field(None, ge=1, description="Note: lines in the edit box.")
    rich_text: bool = Field(False, description="Note: rich text (FullHtml).")
    lcid: int | None = Field(None, description="Currency: locale, e.g. 1044.")
    formula: str | None = Field(
        None, description="Calculated: formula, e.g. =GtRiskProbability*GtRiskConsequence."
    )
    result_type: Literal["Number", "Text", "Currency", "DateTime", "Boolean"] | None = None
    field_refs: list[str] = Field(
        default_factory=list,
        description="Calculated: operand internal names; derived from the formula when empty.",
    )
    lookup_list: str | None = Field(None, description="Lookup: key of the target list in the same template.")
    show_field: str | None = Field(None, description="Lookup: field of the target list shown (Title, ID, …).")
    projected_from: str | None = Field(
        None, description="Projected (dependent) lookup: internal name of the parent lookup field."
    )
    relationship_delete_behavior: Literal["None", "Cascade", "Restrict"] | None = None
    taxonomy: TaxonomyCompat | None = Field(
        None, description="Stands in for a PP365 taxonomy field: readers must also accept taxonomy values."
    )
    term_set_id: str | None = Field(None, description="Taxonomy/TaxonomyMulti: term set GUID.")
    formatter: dict[str, Any] | None = Field(
        None,
        description="SharePoint column formatting (the field's CustomFormatter JSON, as a mapping); "
        "provisioned with the field and updated when it differs.",
    )

    @property
    def formatter_json(self) -> str | None:
        """The formatter as SharePoint stores it: compact JSON text (``None`` without one)."""
        if self.formatter is None:
            return None
        return json.dumps(self.formatter, ensure_ascii=False, separators=(",", ":"))

    @property
    def field_id(self) -> uuid.UUID:
        """The fixed ID, or a stable ID derived from the internal name."""
        return self.id or uuid.uuid5(FIELD_ID_NAMESPACE, self.name)

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def is_projected(self) -> bool:
        return self.projected_from is not None

    def formula_refs(self) -> list[str]:
        """Operands of a calculated formula: explicit ``field_refs`` or the names used in ``formula``."""
        if self.field_refs:
            return list(self.field_refs)
        return formula_identifiers(self.formula or "")

    def schema_xml(self, *, list_id: str | None = None, parent_id: uuid.UUID | None = None) -> str:
        """The ``SchemaXml`` for ``CreateFieldAsXml``.

        Lookups get ``List="{list_id}"``; without ``list_id`` the token ``{listid:<key>}`` is left for
        the engine to replace. A projected lookup needs ``parent_id``, the parent lookup's field ID.
        """
        return render_schema_xml(self, list_id=list_id, parent_id=parent_id)


def _link_from_str(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class FieldLink(_Model):
    """A content type's link to a field, optionally overriding required/hidden/display name."""

    name: str
    required: bool | None = None
    hidden: bool | None = None
    display_name: str | None = None


LinkItem = Annotated[FieldLink, BeforeValidator(_link_from_str, json_schema_input_type=FieldLink | str)]


class ContentTypeDef(_Model):
    """A site content type with a fixed ID; children inherit the parent's field links."""

    id: str = Field(
        description="Content type ID, e.g. 0x0100A87AE71CBF2643A6BC9D0948BD2EE897 (quote it in YAML)."
    )
    name: str
    description: str | None = None
    group: str | None = None
    parent: str | None = Field(None, description="Parent content type ID; derived from the ID when absent.")
    field_links: list[LinkItem] = Field(default_factory=list, description="Own field links, in order.")


class ViewFilter(_Model):
    """One condition of a structured view filter (all conditions are ANDed)."""

    field: str
    op: Literal["Eq", "Neq", "Gt", "Geq", "Lt", "Leq", "IsNull", "IsNotNull", "Contains", "BeginsWith"] = "Eq"
    value: str | int | float | bool | None = None


class ViewOrder(_Model):
    field: str
    ascending: bool = True


def _order_from_str(value: Any) -> Any:
    return {"field": value} if isinstance(value, str) else value


OrderItem = Annotated[ViewOrder, BeforeValidator(_order_from_str, json_schema_input_type=ViewOrder | str)]


class ViewDef(_Model):
    """A list view; ``title`` is its key within the list."""

    title: str
    fields: list[str] = Field(description="View fields in order (internal names; LinkTitle, ID, … allowed).")
    query: str | None = Field(
        None, description="Raw CAML (<Where>…</Where><OrderBy>…), used instead of filters."
    )
    filters: list[ViewFilter] = Field(default_factory=list)
    order_by: list[OrderItem] = Field(default_factory=list)
    group_by: list[str] = Field(default_factory=list)
    row_limit: int = Field(30, ge=1, le=5000)
    paged: bool = True
    default: bool = False
    current_phase: bool = Field(
        False,
        description="Filtered on the project's current phase; the engine rewrites it on a phase change.",
    )


class SeedItem(_Model):
    """An item the engine ensures exists; matched on ``key`` so re-seeding never duplicates."""

    key: str | None = Field(None, description="Stable key; derived from the list's key_fields when absent.")
    content_type: str | None = None
    values: dict[str, str | int | float | bool | None]


class ListDef(_Model):
    """A list or library and everything on it; ``key`` is its stable address in the template."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Stable key, e.g. risks.")
    title: str = Field(description="Title (nb-NO).")
    url: str = Field(description="Server-relative URL within the web, ASCII, e.g. Lists/Mleindikatorer.")
    title_en: str | None = None
    template_type: Literal[100, 101] = 100
    description: str | None = None
    hidden: bool = False
    versioning: bool | None = Field(True, description="Major versions on; None leaves SharePoint's default.")
    attachments: bool = True
    existing: bool = Field(
        False, description="Exists with the site (e.g. the group's document library): never create."
    )
    content_types_enabled: bool = False
    content_types: list[str] = Field(default_factory=list, description="Bound content types (ID or name).")
    fields: list[FieldDef] = Field(default_factory=list)
    views: list[ViewDef] = Field(default_factory=list)
    key_fields: list[str] = Field(
        default_factory=list, description="Fields whose values identify a seed item."
    )
    seed_items: list[SeedItem] = Field(default_factory=list)

    def field(self, name: str) -> FieldDef:
        """The field with this internal name (KeyError if the list has none)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"list {self.key!r} has no field {name!r}")

    def has_field(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)

    def view(self, title: str) -> ViewDef:
        for v in self.views:
            if v.title == title:
                return v
        raise KeyError(f"list {self.key!r} has no view {title!r}")

    def seed_key(self, item: SeedItem) -> str:
        """The seed item's key: explicit, else the ``key_fields`` values joined by ``|``."""
        if item.key is not None:
            return item.key
        return "|".join(_key_text(item.values.get(name)) for name in self.key_fields)

    def field_type(self, name: str) -> FieldType | None:
        return next((f.type for f in self.fields if f.name == name), None)

    def schema_xml(self, name: str, *, list_ids: Mapping[str, str] | None = None) -> str:
        """SchemaXml of a field of this list; ``list_ids`` maps list keys to list GUIDs for lookups."""
        fdef = self.field(name)
        parent_id = self.field(fdef.projected_from).field_id if fdef.projected_from else None
        list_id = (list_ids or {}).get(fdef.lookup_list or "") if fdef.lookup_list else None
        return fdef.schema_xml(list_id=list_id, parent_id=parent_id)

    def view_query(self, title: str) -> str:
        """The CAML query of a view: its raw ``query`` or one built from filters, order and grouping."""
        return render_view_query(self.view(title), self)


class Template(_Model):
    """A site template: what a project site or the portfolio hub must contain."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"title": "veiviser site template"},
    )

    name: str = Field(description="Template name, e.g. Standardmal.")
    kind: Literal["project", "hub"]
    version: str = Field(description="Template version (x.y.z); the engine stamps it on sites.")
    description: str | None = None
    extensions: list[str] = Field(
        default_factory=list, description="Extensions merged in (name@version); set by the loader."
    )
    content_types: list[ContentTypeDef] = Field(default_factory=list)
    lists: list[ListDef] = Field(default_factory=list)

    # --- addressing -------------------------------------------------------------------------------

    def get_list(self, key: str) -> ListDef:
        """The list with this key (or title)."""
        for lst in self.lists:
            if lst.key == key:
                return lst
        for lst in self.lists:
            if lst.title == key:
                return lst
        raise KeyError(f"template {self.name!r} has no list {key!r}")

    def content_type(self, ref: str) -> ContentTypeDef:
        """The content type with this ID or name."""
        for ct in self.content_types:
            if ct.id.upper() == ref.upper() or ct.name == ref:
                return ct
        raise KeyError(f"template {self.name!r} has no content type {ref!r}")

    def content_type_field_links(self, ref: str) -> list[FieldLink]:
        """All field links of a content type, inherited ones first (as SharePoint shows them)."""
        chain: list[ContentTypeDef] = []
        ct: ContentTypeDef | None = self.content_type(ref)
        seen: set[str] = set()
        while ct is not None and ct.id.upper() not in seen:
            seen.add(ct.id.upper())
            chain.append(ct)
            parent = self.parent_id_of(ct)
            ct = next((c for c in self.content_types if c.id.upper() == parent.upper()), None)
        links: dict[str, FieldLink] = {}
        for c in reversed(chain):
            for link in c.field_links:
                links[link.name] = link if link.name not in links else _merge_link(links[link.name], link)
        return list(links.values())

    def parent_id_of(self, ct: ContentTypeDef) -> str:
        """A content type's parent: explicit, else the longest template or built-in ID it extends."""
        if ct.parent:
            return ct.parent
        candidates = [c.id for c in self.content_types] + list(BUILTIN_CONTENT_TYPES)
        prefixes = [c for c in candidates if ct.id.upper().startswith(c.upper()) and len(c) < len(ct.id)]
        return max(prefixes, key=len) if prefixes else "0x01"

    def field_def(self, name: str) -> FieldDef:
        """The first definition of a field in any list (KeyError if none)."""
        for lst in self.lists:
            for f in lst.fields:
                if f.name == name:
                    return f
        raise KeyError(f"template {self.name!r} has no field {name!r}")

    def site_columns(self) -> list[FieldDef]:
        """Fields linked by content types: the engine creates them as site columns before the types."""
        out: dict[str, FieldDef] = {}
        for ct in self.content_types:
            for link in ct.field_links:
                if link.name not in BUILTIN_FIELDS and link.name not in out:
                    try:
                        out[link.name] = self.field_def(link.name)
                    except KeyError:
                        continue
        return list(out.values())

    @property
    def stamp(self) -> str:
        """The version string stamped on sites: ``version`` plus applied extensions."""
        return "+".join([self.version, *self.extensions])

    # --- validation -----------------------------------------------------------------------------------

    def problems(self) -> list[tuple[Loc, str]]:
        """Every semantic problem, as (path, message); empty when the template is sound."""
        from veiviser.schemas.template_checks import check_template  # checks import this module

        return list(check_template(self))


class TemplateBundle(_Model):
    """The templates veiviser provisions together: the project site and the portfolio hub."""

    project: Template
    hub: Template

    def get(self, kind: str) -> Template:
        return self.project if kind == "project" else self.hub


# --- helpers -----------------------------------------------------------------------------------------


def _merge_link(base: FieldLink, override: FieldLink) -> FieldLink:
    data = base.model_dump()
    data.update({k: v for k, v in override.model_dump().items() if v is not None})
    return FieldLink(**data)


def _key_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value)


def formula_identifiers(formula: str) -> list[str]:
    """Field names used in a SharePoint formula: bare identifiers (not functions) and ``[Name]``."""
    names: list[str] = []
    for match in _IDENT.finditer(formula):
        bracket, ident, call = match.group(1), match.group(2), match.group(3)
        name = bracket or (ident if not call else None)
        if name and name not in _NON_FIELD_WORDS and name not in names:
            names.append(name)
    return names


def quoteattr(value: str) -> str:
    """An XML attribute value in double quotes, with ``& < > "`` escaped."""
    return '"' + escape(value, {'"': "&quot;"}) + '"'


def _xml_bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def number_text(value: float) -> str:
    """A number as SchemaXml writes it: ``5`` for 5.0, ``1.5`` otherwise."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render_schema_xml(f: FieldDef, *, list_id: str | None = None, parent_id: uuid.UUID | None = None) -> str:
    """Render a field's ``SchemaXml`` (see :meth:`FieldDef.schema_xml`)."""
    sp_type = {
        FieldType.TAXONOMY: "TaxonomyFieldType",
        FieldType.TAXONOMYMULTI: "TaxonomyFieldTypeMulti",
    }.get(f.type, f.type.value)
    attrs: list[tuple[str, str]] = [
        ("ID", "{" + str(f.field_id) + "}"),
        ("Name", f.name),
        ("StaticName", f.name),
        ("DisplayName", f.display_name),
        ("Type", sp_type),
    ]
    if f.description:
        attrs.append(("Description", f.description))
    attrs.append(("Required", _xml_bool(f.required)))
    if f.indexed:
        attrs.append(("Indexed", "TRUE"))
    if f.unique:
        attrs.append(("EnforceUniqueValues", "TRUE"))
    if f.hidden:
        attrs.append(("Hidden", "TRUE"))
    if not f.show_in_new_form:
        attrs.append(("ShowInNewForm", "FALSE"))
    if not f.show_in_edit_form:
        attrs.append(("ShowInEditForm", "FALSE"))
    if f.read_only or f.is_projected:
        attrs.append(("ReadOnly", "TRUE"))
    if f.type in CHOICE_TYPES and f.fill_in:
        attrs.append(("FillInChoice", "TRUE"))
    if f.format:
        attrs.append(("Format", f.format))
    if f.min is not None:
        attrs.append(("Min", number_text(f.min)))
    if f.max is not None:
        attrs.append(("Max", number_text(f.max)))
    if f.decimals is not None:
        attrs.append(("Decimals", str(f.decimals)))
    if f.percentage:
        attrs.append(("Percentage", "TRUE"))
    if f.max_length is not None:
        attrs.append(("MaxLength", str(f.max_length)))
    if f.number_of_lines is not None:
        attrs.append(("NumLines", str(f.number_of_lines)))
    if f.type is FieldType.NOTE:
        attrs.append(("RichText", _xml_bool(f.rich_text)))
        if f.rich_text:
            attrs.append(("RichTextMode", "FullHtml"))
    if f.lcid is not None:
        attrs.append(("LCID", str(f.lcid)))
    if f.type in (FieldType.USERMULTI, FieldType.LOOKUPMULTI, FieldType.TAXONOMYMULTI):
        attrs.append(("Mult", "TRUE"))
    if f.type in (FieldType.USER, FieldType.USERMULTI):
        attrs.append(("UserSelectionMode", f.format or "PeopleAndGroups"))
    if f.is_lookup:
        target = list_id or f"listid:{f.lookup_list}"
        attrs.append(("List", "{" + target.strip("{}") + "}"))
        attrs.append(("ShowField", f.show_field or "Title"))
        if f.is_projected:
            if parent_id is None:
                raise ValueError(f"projected lookup {f.name!r} needs the parent lookup's field ID")
            attrs.append(("FieldRef", "{" + str(parent_id) + "}"))
        elif f.relationship_delete_behavior:
            attrs.append(("RelationshipDeleteBehavior", f.relationship_delete_behavior))
    if f.type is FieldType.CALCULATED:
        attrs.append(("ResultType", f.result_type or "Text"))
    head = "<Field " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs)
    body: list[str] = []
    if f.default is not None:
        body.append(f"<Default>{escape(_default_text(f))}</Default>")
    if f.type in CHOICE_TYPES and f.choices:
        body.append("<CHOICES>" + "".join(f"<CHOICE>{escape(c)}</CHOICE>" for c in f.choices) + "</CHOICES>")
    if f.type is FieldType.CALCULATED:
        body.append(f"<Formula>{escape(f.formula or '')}</Formula>")
        refs = "".join(f"<FieldRef Name={quoteattr(r)} />" for r in f.formula_refs())
        body.append(f"<FieldRefs>{refs}</FieldRefs>")
    if not body:
        return head + " />"
    return head + ">" + "".join(body) + "</Field>"


def _default_text(f: FieldDef) -> str:
    if isinstance(f.default, bool):
        return "1" if f.default else "0"
    if isinstance(f.default, float):
        return number_text(f.default)
    return str(f.default)


_CAML_TYPES = {
    FieldType.NUMBER: "Number",
    FieldType.CURRENCY: "Currency",
    FieldType.BOOLEAN: "Boolean",
    FieldType.DATETIME: "DateTime",
    FieldType.CHOICE: "Choice",
    FieldType.MULTICHOICE: "MultiChoice",
    FieldType.USER: "User",
    FieldType.USERMULTI: "UserMulti",
    FieldType.LOOKUP: "Lookup",
    FieldType.LOOKUPMULTI: "LookupMulti",
    FieldType.NOTE: "Note",
    FieldType.URL: "URL",
}


def _caml_value(flt: ViewFilter, lst: ListDef | None) -> str:
    if flt.field == "ContentType":
        value_type = "Computed"
    else:
        fdef = next((f for f in lst.fields if f.name == flt.field), None) if lst else None
        if fdef is None:
            value_type = "Text"
        elif fdef.type is FieldType.CALCULATED:
            value_type = fdef.result_type or "Text"
        else:
            value_type = _CAML_TYPES.get(fdef.type, "Text")
    value = flt.value
    if isinstance(value, bool):
        value = 1 if value else 0
    if isinstance(value, float):
        value = number_text(value)
    return f'<Value Type="{value_type}">{escape(str(value))}</Value>'


def render_view_query(view: ViewDef, lst: ListDef | None = None) -> str:
    """CAML for a view: ``<Where>`` (filters ANDed), ``<GroupBy>`` and ``<OrderBy>``."""
    if view.query is not None:
        return view.query
    conds: list[str] = []
    for flt in view.filters:
        ref = f"<FieldRef Name={quoteattr(flt.field)} />"
        if flt.op in ("IsNull", "IsNotNull"):
            conds.append(f"<{flt.op}>{ref}</{flt.op}>")
        else:
            conds.append(f"<{flt.op}>{ref}{_caml_value(flt, lst)}</{flt.op}>")
    out = ""
    if conds:
        expr = conds[0]
        for cond in conds[1:]:
            expr = f"<And>{expr}{cond}</And>"
        out += f"<Where>{expr}</Where>"
    if view.group_by:
        out += (
            '<GroupBy Collapse="TRUE">'
            + "".join(f"<FieldRef Name={quoteattr(g)} />" for g in view.group_by)
            + "</GroupBy>"
        )
    if view.order_by:
        out += (
            "<OrderBy>"
            + "".join(
                f"<FieldRef Name={quoteattr(o.field)} Ascending={quoteattr(_xml_bool(o.ascending))} />"
                for o in view.order_by
            )
            + "</OrderBy>"
        )
    return out


# --- semantic checks ------------------------------------------------------------------------------------
