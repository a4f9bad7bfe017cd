"""Load site templates from YAML: line numbers, extension merge and one error listing every problem.

A template file holds one :class:`~veiviser.schemas.template.Template` (``kind: project`` or
``kind: hub``). The standard templates ship in ``veiviser/templates/`` and are loaded by name
(``standard`` = ``standard-project``, ``standard-hub``).

An **extension** file adds to a template without copying it::

    extension: kommune-tillegg       # name, stamped as name@version next to the template version
    version: 1.0.0
    kind: project                    # which template it extends
    lists:
      - key: risks                   # an existing list: add fields, choices, views, seed items
        fields:
          - {name: GtRiskStrategy, choices: [Eskalere]}      # extra choice on an existing field
          - {name: GtRiskOwnerUnit, display_name: Enhet, type: Text}
      - key: lessons                 # a new list, defined in full
        title: Erfaringer
        url: Lists/Erfaringer

The merge never removes anything. Redefining something with a different value (a field of another
type, a list with another URL, …) is a conflict and reported with the extension's file and line.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from veiviser.errors import VeiviserError
from veiviser.schemas.template import Template, TemplateBundle

STANDARD_NAMES = {
    "standard": "standard-project.yaml",
    "standard-project": "standard-project.yaml",
    "standard-hub": "standard-hub.yaml",
}
SCHEMA_FILE = "template.schema.json"

# --- YAML with marks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """A position in a YAML file (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class MarkedDict(dict[Any, Any]):
    """A mapping from YAML that remembers where it and each of its keys came from."""

    mark: Mark | None = None
    key_marks: dict[Any, Mark]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_marks = {}


class MarkedList(list[Any]):
    """A sequence from YAML that remembers where it and each item came from."""

    mark: Mark | None = None
    item_marks: list[Mark | None]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_marks = [None] * len(self)

    def append_marked(self, value: Any, mark: Mark | None) -> None:
        self.append(value)
        self.item_marks.append(mark)


_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _MarkLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that builds Marked containers, refuses duplicate keys and keeps 0x… and yes/no as text."""

    file_label = "<yaml>"
    problems: list[tuple[Mark, str]]

    def _mark(self, node: yaml.Node) -> Mark:
        return Mark(self.file_label, node.start_mark.line + 1, node.start_mark.column + 1)


def _construct_mapping(loader: _MarkLoader, node: yaml.MappingNode) -> MarkedDict:
    loader.flatten_mapping(node)
    result = MarkedDict()
    result.mark = loader._mark(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            loader.problems.append(
                (
                    loader._mark(key_node),
                    f"duplicate key {key!r} (first at line {result.key_marks[key].line})",
                )
            )
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_marks[key] = loader._mark(key_node)
    return result


def _construct_sequence(loader: _MarkLoader, node: yaml.SequenceNode) -> MarkedList:
    result = MarkedList()
    result.mark = loader._mark(node)
    for child in node.value:
        result.append_marked(loader.construct_object(child, deep=True), loader._mark(child))
    return result


def _construct_int(loader: _MarkLoader, node: yaml.ScalarNode) -> int | str:
    # Content type IDs (0x0100…) are hex-looking: keep them as written instead of turning them into ints.
    text = str(node.value)
    if text.lower().lstrip("+-").startswith(("0x", "0o", "0b")) or "_" in text or ":" in text:
        return text
    return yaml.SafeLoader.construct_yaml_int(loader, node)


def _construct_bool(loader: _MarkLoader, node: yaml.ScalarNode) -> bool | str:
    # YAML 1.1 reads yes/no/on/off as booleans; only true/false are booleans here.
    text = str(node.value)
    return {"true": True, "false": False}.get(text.lower(), text)


_MarkLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_MarkLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_MarkLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_MarkLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)


# --- errors ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a template: where (file, line, field path) and what."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path + ': ' if self.path else ''}{self.message}"


class TemplateError(VeiviserError):
    """A template or extension is invalid; ``problems`` lists every problem found."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem], *, hint: str | None = None) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in template:"
        super().__init__(
            "\n  ".join([head, *map(str, self.problems)]),
            hint=hint
            or "Fix the listed lines and run `veiviser template check FILE`; "
            "`veiviser template schema` shows every allowed key.",
        )


def _locate(data: Any, loc: Sequence[str | int], default_file: str) -> tuple[Mark | None, str]:
    """The mark of the node at ``loc`` (or its nearest ancestor) and a readable path."""
    mark: Mark | None = getattr(data, "mark", None)
    node = data
    parts: list[str] = []
    for step in loc:
        if isinstance(node, dict) and step in node:
            mark = node.key_marks.get(step, mark) if isinstance(node, MarkedDict) else mark
            parts.append(str(step))
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            item = node[step]
            if isinstance(node, MarkedList) and node.item_marks[step] is not None:
                mark = node.item_marks[step]
            label = _label(item)
            parts[-1:] = [f"{parts[-1] if parts else ''}[{label if label is not None else step}]"]
            node = item
        elif isinstance(step, str) and isinstance(node, dict):
            # A key that is missing (or a pydantic-internal step): point at the mapping, name the key.
            if not step.startswith(("function-", "json-", "union")) and step[:1].islower():
                parts.append(str(step))
            node = None
        else:
            node = None
    if mark is None:
        mark = Mark(default_file, 0, 0)
    return (mark if mark.line else None), ".".join(parts)


def _label(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in ("key", "name", "title", "id"):
            if isinstance(item.get(key), str):
                return str(item[key])
    if isinstance(item, str):
        return item
    return None


def _problem(data: Any, loc: Sequence[str | int], message: str, file: str) -> Problem:
    mark, path = _locate(data, loc, file)
    return Problem(
        mark.file if mark else file, mark.line if mark else None, mark.column if mark else None, path, message
    )


def _pydantic_message(err: Any) -> str:
    kind, loc, value = err["type"], err["loc"], err.get("input")
    name = loc[-1] if loc else "value"
    if kind == "enum":
        allowed = err.get("ctx", {}).get("expected", "")
        return f"unknown {name} {value!r}; expected one of {allowed}"
    if kind == "extra_forbidden":
        return f"unknown key {name!r}"
    if kind == "missing":
        return f"missing required key {name!r}"
    if kind == "literal_error":
        return f"{value!r} is not allowed; expected {err.get('ctx', {}).get('expected', '')}"
    return f"{err['msg']} (got {value!r})"


# --- loading -----------------------------------------------------------------------------------------


def _read_yaml(text: str, file: str) -> Any:
    loader = _MarkLoader(text)
    loader.file_label = file
    loader.problems = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        detail = " ".join(p for p in (exc.context, exc.problem) if p)
        raise TemplateError([Problem(file, line, col, "", f"bad YAML: {detail}")]) from None
    except yaml.YAMLError as exc:
        raise TemplateError([Problem(file, None, None, "", f"bad YAML: {exc}")]) from None
    finally:
        loader.dispose()
    if loader.problems:
        raise TemplateError([Problem(m.file, m.line, m.column, "", msg) for m, msg in loader.problems])
    if not isinstance(data, dict):
        raise TemplateError([Problem(file, 1, 1, "", "a template file must be a YAML mapping")])
    return data


def resolve_source(source: str | Path) -> tuple[str, str]:
    """The (label, text) of a built-in template name or a file path."""
    if isinstance(source, str) and source in STANDARD_NAMES:
        name = STANDARD_NAMES[source]
        text = resources.files("veiviser.templates").joinpath(name).read_text(encoding="utf-8")
        return f"<veiviser>/templates/{name}", text
    path = Path(source)
    try:
        return str(path), path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(
            [Problem(str(path), None, None, "", "file not found")],
            hint=f"Give a YAML file or one of the built-in names: {', '.join(STANDARD_NAMES)}.",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError([Problem(str(path), None, None, "", f"cannot read the file: {exc}")]) from None


def read_raw(source: str | Path) -> tuple[str, dict[str, Any]]:
    """Parse a template or extension file into marked YAML data (label, data)."""
    label, text = resolve_source(source)
    return label, _read_yaml(text, label)


def is_extension(data: dict[str, Any]) -> bool:
    return "extension" in data


def build_template(data: dict[str, Any], file: str) -> Template:
    """Validate marked YAML data into a Template, raising one TemplateError with every problem."""
    try:
        template = Template.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(data, err["loc"], _pydantic_message(err), file) for err in exc.errors()]
        raise TemplateError(_dedupe(problems)) from None
    problems = [_problem(data, loc, msg, file) for loc, msg in template.problems()]
    if problems:
        raise TemplateError(_dedupe(problems))
    return template


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def load_template(
    source: str | Path = "standard",
    *,
    extensions: Iterable[str | Path] = (),
    kind: str | None = None,
) -> Template:
    """Load a template (built-in name or YAML path), merge ``extensions`` and validate everything.

    Raises :class:`TemplateError` listing every problem with file, line and field path; nothing is
    returned unless the merged template is sound.
    """
    if kind is not None and source == "standard":
        source = f"standard-{kind}"
    label, data = read_raw(source)
    if is_extension(data):
        raise TemplateError(
            [Problem(label, 1, 1, "extension", "this is an extension, not a template")],
            hint="Pass it with extensions=[…] (CLI: --extension FILE).",
        )
    if kind is not None and data.get("kind") != kind:
        raise TemplateError(
            [_problem(data, ["kind"], f"expected a {kind} template, got {data.get('kind')!r}", label)]
        )
    problems: list[Problem] = []
    for ext in extensions:
        ext_label, ext_data = read_raw(ext)
        problems.extend(merge_extension(data, ext_data, ext_label))
    try:
        template = build_template(data, label)
    except TemplateError as exc:
        raise TemplateError(problems + exc.problems) from None
    if problems:
        raise TemplateError(problems)
    return template


def load_bundle(name: str = "standard", *, extensions: Iterable[str | Path] = ()) -> TemplateBundle:
    """Load the project and hub templates of a built-in set; each extension goes to its ``kind``."""
    if name != "standard":
        raise TemplateError([Problem(name, None, None, "", "unknown template set")], hint="Use 'standard'.")
    by_kind: dict[str, list[str | Path]] = {"project": [], "hub": []}
    for ext in extensions:
        label, data = read_raw(ext)
        ext_kind = data.get("kind", "project")
        if ext_kind not in by_kind:
            raise TemplateError(
                [_problem(data, ["kind"], f"kind must be project or hub, not {ext_kind!r}", label)]
            )
        by_kind[ext_kind].append(ext)
    return TemplateBundle(
        project=load_template("standard-project", extensions=by_kind["project"]),
        hub=load_template("standard-hub", extensions=by_kind["hub"]),
    )


# --- extension merge ---------------------------------------------------------------------------------

_EXTENSION_KEYS = {"extension", "version", "kind", "description", "lists", "content_types"}
_COLLECTIONS = {"fields": "name", "views": "title"}
_APPEND_ONLY = {"content_types", "key_fields"}


def merge_extension(base: dict[str, Any], ext: dict[str, Any], ext_file: str) -> list[Problem]:
    """Merge extension data into template data in place; return conflicts (never removes anything)."""
    problems: list[Problem] = []

    def conflict(loc: Sequence[str | int], message: str) -> None:
        problems.append(_problem(ext, loc, message, ext_file))

    for key in ext:
        if key not in _EXTENSION_KEYS:
            conflict([key], f"unknown extension key {key!r}; allowed: {', '.join(sorted(_EXTENSION_KEYS))}")
    name, version = ext.get("extension"), ext.get("version")
    if not isinstance(name, str) or not name:
        conflict(["extension"], "an extension needs a name (extension: <name>)")
    if not isinstance(version, str):
        conflict(["version"], "an extension needs a version string, e.g. version: '1.0.0'")
    if ext.get("kind", "project") != base.get("kind"):
        conflict(
            ["kind"],
            f"extension is for {ext.get('kind', 'project')!r} but the template is {base.get('kind')!r}",
        )
    if problems:
        return problems
    stamps = base.setdefault("extensions", MarkedList())
    stamps.append(f"{name}@{version}")

    base_cts = base.setdefault("content_types", MarkedList())
    for i, ct in enumerate(_items(ext, "content_types", conflict)):
        existing = next((c for c in base_cts if _same_ct(c, ct)), None)
        if existing is None:
            _append(base_cts, ct, ext.get("content_types"), i)
            continue
        for key, value in ct.items():
            if key == "field_links":
                names = {_link_name(link) for link in existing.setdefault("field_links", MarkedList())}
                for j, link in enumerate(value if isinstance(value, list) else []):
                    if _link_name(link) not in names:
                        _append(existing["field_links"], link, value, j)
            elif key in existing and existing[key] != value:
                conflict(
                    ["content_types", i, key],
                    f"content type {ct.get('id')}: {key} {value!r} conflicts with {existing[key]!r}",
                )

    base_lists = base.setdefault("lists", MarkedList())
    for i, lst in enumerate(_items(ext, "lists", conflict)):
        existing = next((x for x in base_lists if x.get("key") == lst.get("key")), None)
        if existing is None:
            _append(base_lists, lst, ext.get("lists"), i)
            continue
        _merge_list(existing, lst, ["lists", i], conflict)
    return problems


def _items(data: dict[str, Any], key: str, conflict: Any) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        conflict([key], f"{key} must be a list")
        return []
    good = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            good.append(item)
        else:
            conflict([key, i], f"each entry of {key} must be a mapping")
            good.append({})
    return good


def _append(target: list[Any], item: Any, source: Any, index: int) -> None:
    mark = source.item_marks[index] if isinstance(source, MarkedList) else None
    if isinstance(target, MarkedList):
        target.append_marked(copy.copy(item), mark)
    else:
        target.append(item)


def _same_ct(a: Any, b: dict[str, Any]) -> bool:
    return isinstance(a, dict) and str(a.get("id", "")).upper() == str(b.get("id", "")).upper()


def _link_name(link: Any) -> Any:
    return link.get("name") if isinstance(link, dict) else link


def _merge_list(existing: dict[str, Any], lst: dict[str, Any], loc: list[Any], conflict: Any) -> None:
    where = f"list {lst.get('key')!r}"
    for key, value in lst.items():
        if key in _COLLECTIONS:
            _merge_collection(existing, key, value, [*loc, key], conflict, where)
        elif key == "seed_items":
            for j, item in enumerate(value if isinstance(value, list) else []):
                _append(existing.setdefault("seed_items", MarkedList()), item, value, j)
        elif key in _APPEND_ONLY:
            target = existing.setdefault(key, MarkedList())
            for j, item in enumerate(value if isinstance(value, list) else []):
                if item not in target:
                    _append(target, item, value, j)
        elif key in existing and existing[key] != value:
            conflict([*loc, key], f"{where}: {key} {value!r} conflicts with the template's {existing[key]!r}")
        elif key not in existing:
            existing[key] = value
            if isinstance(existing, MarkedDict) and isinstance(lst, MarkedDict) and key in lst.key_marks:
                existing.key_marks[key] = lst.key_marks[key]


def _merge_collection(
    existing: dict[str, Any], key: str, value: Any, loc: list[Any], conflict: Any, where: str
) -> None:
    id_key = _COLLECTIONS[key]
    target = existing.setdefault(key, MarkedList())
    if not isinstance(value, list):
        conflict(loc, f"{where}: {key} must be a list")
        return
    for j, item in enumerate(value):
        if not isinstance(item, dict):
            conflict([*loc, j], f"{where}: each entry of {key} must be a mapping")
            continue
        current = next((x for x in target if isinstance(x, dict) and x.get(id_key) == item.get(id_key)), None)
        if current is None:
            _append(target, item, value, j)
            continue
        label = f"{where}, {key[:-1]} {item.get(id_key)!r}"
        for attr, new in item.items():
            if attr == id_key:
                continue
            old = current.get(attr)
            if attr in ("choices", "fields") and isinstance(new, list):
                merged = current.setdefault(attr, MarkedList())
                for k, choice in enumerate(new):
                    if choice not in merged:
                        _append(merged, choice, new, k)
            elif attr not in current:
                current[attr] = new
                if isinstance(current, MarkedDict) and isinstance(item, MarkedDict):
                    current.key_marks[attr] = item.key_marks.get(attr, item.mark)  # type: ignore[assignment]
            elif old != new:
                what = (
                    "redefined with a different type" if attr == "type" else f"{attr} {new!r} conflicts with"
                )
                suffix = (
                    f" {old!r} in the template"
                    if attr != "type"
                    else f": {new!r} here, {old!r} in the template"
                )
                conflict([*loc, j, attr], f"{label}: {what}{suffix}")


# --- JSON Schema ---------------------------------------------------------------------------------------


def template_json_schema() -> dict[str, Any]:
    """The JSON Schema of a template file, generated from the pydantic models."""
    schema = Template.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://veiviser.invalid/template.schema.json"
    return schema


def template_json_schema_text() -> str:
    """The JSON Schema as text, exactly as published in ``veiviser/templates/template.schema.json``."""
    import json

    return json.dumps(template_json_schema(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def published_schema_path() -> Path:
    """Where the published schema lives in the source tree (``veiviser/templates/``)."""
    return Path(str(resources.files("veiviser.templates").joinpath(SCHEMA_FILE)))


# --- command-line helpers --------------------------------------------------------------------------------


def check_files(paths: Iterable[str | Path]) -> list[str]:
    """Validate template or extension files (extensions against the standard template of their kind).

    Returns one summary line per file; raises one TemplateError listing the problems of all files.
    """
    summaries: list[str] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            label, data = read_raw(path)
            if is_extension(data):
                kind = data.get("kind", "project")
                template = load_template(
                    f"standard-{kind}" if kind in ("project", "hub") else "standard", extensions=[path]
                )
                summaries.append(
                    f"OK {label}: extension {data.get('extension')} → {template.name} {template.stamp}"
                )
            else:
                template = build_template(data, label)
                summaries.append(
                    f"OK {label}: {template.kind} template {template.name} {template.version}, {len(template.lists)} lists"
                )
        except TemplateError as exc:
            problems.extend(exc.problems)
    if problems:
        raise TemplateError(problems)
    return summaries


def describe_template(template: Template) -> str:
    """A short text overview: lists with URL, content types, field, view and seed counts."""
    lines = [f"{template.name} ({template.kind}) version {template.stamp}"]
    for lst in template.lists:
        flags = [f for f, on in (("hidden", lst.hidden), ("existing", lst.existing)) if on]
        lines.append(
            f"  {lst.key:<24} {lst.title} <{lst.url}> {len(lst.fields)} fields, {len(lst.views)} views"
            + (f", {len(lst.seed_items)} seed items" if lst.seed_items else "")
            + (f" [{', '.join(flags)}]" if flags else "")
        )
        if lst.content_types:
            lines.append(f"  {'':<24} content types: {', '.join(lst.content_types)}")
    return "\n".join(lines) + "\n"
