"""Issue 12: the import graph follows docs/architecture.md — no upward import, no cycle, no stray package."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "generator" / "shipcard"
DOC = ROOT / "docs" / "architecture.md"


def documented_layers(text: str) -> dict[str, int]:
    """`package → layer` from the doc's table rows `| N name | `a`, `b` | … |`."""
    layers: dict[str, int] = {}
    for line in text.splitlines():
        row = re.match(r"^\| (\d+) [^|]+\| ([^|]+)\|", line)
        if row:
            for name in re.findall(r"`([^`]+)`", row.group(2)):
                layers[name] = int(row.group(1))
    return layers


def unit_of(module: str) -> str:
    """The architecture unit of a dotted module name: `shipcard.check.rules.kube` → `check`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "shipcard"


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, this: str | None = None) -> Iterator[tuple[str, int]]:
    """Every shipcard module `path` imports (also inside functions and TYPE_CHECKING blocks), with its line.

    `this` is the dotted name of the module the file is (by default, found from its place in the package).
    """
    this = this or module_name(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "shipcard" or alias.name.startswith("shipcard."):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = this.split(".")
                base = base[: len(base) - node.level + (1 if path.name == "__init__.py" else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "shipcard" or target.startswith("shipcard."):
                if target == "shipcard":  # `from shipcard import x`: x may be a subpackage
                    for alias in node.names:
                        submodule = PACKAGE / alias.name
                        named = f"shipcard.{alias.name}"
                        yield (named if submodule.is_dir() or submodule.with_suffix(".py").is_file() else target,
                               node.lineno)
                else:
                    yield target, node.lineno


def import_graph() -> dict[tuple[str, str], list[str]]:
    """(importing unit, imported unit) → where, for every edge between different units."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = unit_of(module_name(path))
        for target_module, line in imports(path):
            target = unit_of(target_module)
            if target != source:
                edges.setdefault((source, target), []).append(f"{path.relative_to(ROOT)}:{line}")
    return edges


def units() -> set[str]:
    found = {"shipcard"}
    for entry in PACKAGE.iterdir():
        if entry.name.startswith(("_", ".")) and entry.name != "__main__.py":
            continue
        if entry.is_dir() and (entry / "__init__.py").is_file():
            found.add(entry.name)
        elif entry.suffix == ".py":
            found.add(entry.stem)
    return found


LAYERS = documented_layers(DOC.read_text(encoding="utf-8"))


def test_the_doc_table_is_read() -> None:
    assert LAYERS["errors"] == 0 and LAYERS["settings"] == 1 and LAYERS["check"] == 7 and LAYERS["cli"] == 8


def test_every_package_has_a_documented_layer_and_every_documented_one_exists() -> None:
    assert units() - set(LAYERS) == set(), "packages missing from docs/architecture.md"
    assert set(LAYERS) - units() == set(), "docs/architecture.md names packages that do not exist"


@pytest.mark.parametrize("edge", sorted(import_graph()), ids="{0[0]}->{0[1]}".format)
def test_no_import_goes_up_a_layer(edge: tuple[str, str]) -> None:
    source, target = edge
    assert LAYERS.get(target, 99) <= LAYERS.get(source, -1), \
        f"{source} (layer {LAYERS.get(source)}) imports {target} (layer {LAYERS.get(target)}) at " \
        + ", ".join(import_graph()[edge])


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for source, target in import_graph():
        graph.setdefault(source, set()).add(target)
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_graph_checker_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    probe = tmp_path / "_probe_for_test.py"
    probe.write_text("def f():\n    from shipcard.check import engine\n\nfrom ..writers import tree\n")
    found = dict(imports(probe, "shipcard.card._probe_for_test"))
    assert found == {"shipcard.check": 2, "shipcard.writers": 4}


def test_no_code_finds_itself_by_folder_names_or_parent_counting() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ("__file__" in line and re.search(r"parents\[\d+\]|\.parent\.parent", line)) \
                    or re.search(r"[\"']generator[\"'/]", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_no_import_error_fallbacks_around_shipcards_own_modules() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(
                    isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                    for h in node.handlers):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_test_modules_have_unique_names() -> None:
    """pytest imports test modules by basename (no packages under tests/): two of one name stop the run at
    collection, as tests/importers/test_bad_input.py beside tests/hardening/'s did."""
    names = [path.name for path in Path(__file__).parent.rglob("test_*.py")]
    assert sorted({name for name in names if names.count(name) > 1}) == []
