"""Splitting a REST path after ``/_api/`` into segments with their inline arguments."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .api import RestError


@dataclass
class Segment:
    name: str
    args: list[Any] = field(default_factory=list)
    named: dict[str, Any] = field(default_factory=dict)
    has_parens: bool = False

    @property
    def low(self) -> str:
        return self.name.lower()


def _bad(path: str) -> RestError:
    return RestError(
        400,
        "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
        f"The expression '{path}' is not valid.",
    )


def split_segments(path: str) -> list[tuple[str, str | None]]:
    """``Web/lists/GetByTitle('a/b')/items(5)`` → ``[("Web", None), …, ("GetByTitle", "'a/b'"), ("items", "5")]``."""
    if "(" not in path:  # fast path: no inline arguments, nothing to scan for
        return [(name, None) for name in path.split("/") if name]
    out: list[tuple[str, str | None]] = []
    i, n = 0, len(path)
    while i < n:
        start = i
        while i < n and path[i] not in "/(":
            i += 1
        name = path[start:i]
        arg: str | None = None
        if i < n and path[i] == "(":
            i += 1
            astart = i
            depth, in_str = 1, False
            while i < n:
                ch = path[i]
                if in_str:
                    if ch == "'":
                        if i + 1 < n and path[i + 1] == "'":
                            i += 1
                        else:
                            in_str = False
                elif ch == "'":
                    in_str = True
                elif ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            if i >= n:
                raise _bad(path)
            arg = path[astart:i]
            i += 1
        if name or arg is not None:
            out.append((name, arg))
        if i < n and path[i] == "/":
            i += 1
        elif i < n and path[i] != "(":
            raise _bad(path)
    return out


def _split_args(text: str) -> list[str]:
    if "," not in text:  # fast paths: one argument, or no quoted commas possible
        return [text] if text else []
    if "'" not in text:
        return text.split(",")
    parts, cur, in_str = [], [], False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            if in_str and i + 1 < len(text) and text[i + 1] == "'":
                cur.append("''")
                i += 2
                continue
            in_str = not in_str
        if ch == "," and not in_str:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    if cur or parts:
        parts.append("".join(cur))
    return parts


def parse_value(text: str, aliases: dict[str, str]) -> Any:
    """One inline argument: ``'str'``, ``guid'…'``, ``5``, ``true``, ``@v`` (alias, JSON)."""
    text = text.strip()
    if text.startswith("@"):
        raw = aliases.get(text)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return parse_value(raw, {})
    if text.lower().startswith("guid'") and text.endswith("'"):
        return text[5:-1]
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() == "null":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_path(path: str, query: str) -> list[Segment]:
    aliases = (
        {k: v for k, v in parse_qsl(query, keep_blank_values=True) if k.startswith("@")}
        if ("@" in query or "%40" in query)
        else {}
    )
    segments = []
    for name, arg in split_segments(path):
        seg = Segment(name, has_parens=arg is not None)
        if arg:
            for part in _split_args(arg):
                if (
                    "=" in part
                    and not part.strip().startswith("'")
                    and part.split("=", 1)[0].strip().isidentifier()
                ):
                    key, value = part.split("=", 1)
                    seg.named[key.strip()] = parse_value(value, aliases)
                else:
                    seg.args.append(parse_value(part, aliases))
        segments.append(seg)
    return segments
