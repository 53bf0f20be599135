"""Imports point downward only (DESIGN.md: client -> transport -> engine -> shared;
server -> protocol + engine; protocol -> shared; mcp -> client only)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "redkite"
SHARED = {"errors", "types", "schema", "columnar", "results", "index_params", "vectors"}
# layer -> layers it must never import
FORBIDDEN = {
    "engine": {"client", "transport", "protocol", "server", "mcp"},
    "transport": {"client", "server", "mcp"},
    "client": {"engine", "server", "mcp"},
    "protocol": {"client", "transport", "engine", "server", "mcp"},
    "server": {"client", "transport", "mcp"},
    "shared": {"client", "transport", "engine", "protocol", "server", "mcp"},
    # the MCP server reaches data only through AsyncMilvusClient (a tool never touches the
    # engine or a transport directly)
    "mcp": {"engine", "transport", "protocol", "server"},
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2:
        return "package"
    return "shared" if parts[1] in SHARED else parts[1]


def imported_modules(path: Path) -> set[str]:
    module = "redkite." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
    return {m for m in found if m.startswith("redkite.")}


def test_imports_point_downward():
    violations = []
    for path in ROOT.rglob("*.py"):
        module = "redkite." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
        source_layer = layer_of(module)
        for target in imported_modules(path):
            if layer_of(target) in FORBIDDEN.get(source_layer, set()):
                violations.append(f"{module} imports {target}")
    assert violations == []
