"""The layout's rules, checked on the source: the REST dialect stays in the gateway, imports run
one way (see docs/architecture.md)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "veiviser"

#: Strings that belong to SharePoint's REST dialect: URL paths, verbose OData bodies, change queries.
REST_MARKERS = (
    "__metadata",
    "_api/",
    "GetByTitle",
    "Web/lists",
    "Web/EnsureUser",
    "SP.ChangeQuery",
    "odata=verbose",
)

#: Packages that speak in list titles and values, never in the REST dialect.
DIALECT_FREE = ("sync", "provisioning", "demo", "portfolio", "schemas")

#: (package, packages it must not import)
FORBIDDEN_IMPORTS = {
    "schemas": ("veiviser.provisioning", "veiviser.sync", "veiviser.portfolio", "veiviser.sharepoint"),
    "sync": ("veiviser.portfolio.reports", "veiviser.provisioning", "veiviser.emulator"),
    "portfolio": ("veiviser.sync", "veiviser.sharepoint", "veiviser.provisioning", "veiviser.emulator"),
    "sharepoint": ("veiviser.sync", "veiviser.provisioning", "veiviser.portfolio", "veiviser.emulator"),
    "provisioning": ("veiviser.sync", "veiviser.portfolio", "veiviser.emulator"),
    "emulator": ("veiviser.sharepoint", "veiviser.sync", "veiviser.provisioning", "veiviser.portfolio"),
}


def _modules(package: str) -> Iterator[Path]:
    yield from sorted((SRC / package).rglob("*.py"))


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


@pytest.mark.parametrize("package", DIALECT_FREE)
def test_no_rest_dialect_outside_the_gateway(package: str) -> None:
    found = []
    for path in _modules(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                hits = [m for m in REST_MARKERS if m in node.value]
                if hits:
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}: {hits}")
    assert found == [], "REST dialect outside veiviser.sharepoint:\n" + "\n".join(found)


@pytest.mark.parametrize("package", sorted(FORBIDDEN_IMPORTS))
def test_imports_run_one_way(package: str) -> None:
    banned = FORBIDDEN_IMPORTS[package]
    found = []
    for path in _modules(package):
        for line, name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if any(name == b or name.startswith(b + ".") for b in banned):
                found.append(f"{path.relative_to(SRC)}:{line}: imports {name}")
    assert found == [], "\n".join(found)
