"""Loading YAML configuration files and shipped presets with located errors."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from veiviser.errors import VeiviserError
from veiviser.schemas.parsing import to_number


class ConfigError(VeiviserError):
    """A configuration file is missing or invalid; the message names the file and key."""

    exit_code = 2


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path``; clear errors for a missing file, bad YAML or a non-mapping."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: configuration file not found")
    return parse_yaml(p.read_text(encoding="utf-8-sig"), p.name)


def load_preset(name: str) -> dict[str, Any]:
    """A shipped preset from ``veiviser/portfolio/presets/<name>.yaml``."""
    ref = resources.files("veiviser.portfolio.presets") / f"{name}.yaml"
    if not ref.is_file():
        raise ConfigError(f"No shipped preset named {name!r}")
    return parse_yaml(ref.read_text(encoding="utf-8"), f"preset {name}.yaml")


def parse_yaml(text: str, name: str) -> dict[str, Any]:
    """Parse ``text`` (called ``name`` in messages) into a mapping."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{name}{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: expected a mapping of settings at the top level")
    return data


def number(data: dict[str, Any], key: str, name: str, default: float | None = None) -> float:
    """``data[key]`` as a number, or ``default``; a ConfigError naming file and key otherwise."""
    if key not in data or data[key] is None:
        if default is None:
            raise ConfigError(f"{name}: setting {key!r} is missing")
        return default
    value = data[key]
    parsed = None if isinstance(value, bool) else to_number(value)
    if parsed is None:
        raise ConfigError(f"{name}: setting {key!r} must be a number, not {value!r}")
    return parsed
