"""The shape of the code: dependencies point one way, no import cycle, small transfer modules.

The import graph is read from the sources (``ast``), so it counts every
import: at module level, under ``if TYPE_CHECKING``, and inside functions. A
cycle through a type-only or a deferred import is still two modules that
cannot be understood (or changed) one without the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import drayman

SRC = Path(drayman.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in SRC.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The drayman modules ``name`` imports (``from a import b`` counts ``a.b`` if a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target != "drayman":
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_is_read_from_the_sources() -> None:
    graph = import_graph()
    # a known edge each way of reading: module level, relative-free "from a import b"
    assert "drayman.queue.engine" in graph["drayman.cli"] or any(
        "drayman.queue" in target for target in graph["drayman.cli"]
    )
    assert "drayman.storage" in graph["drayman.queue.jobqueue"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_window_reads_jobs_through_the_job_queue_only() -> None:
    """The UI imports neither aiohttp nor the storage layer, and never reaches for ``.store``."""
    for path in sorted((SRC / "ui").rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                names.append(getattr(node, "module", None) or "")
                for module in names:
                    assert not module.startswith(("aiohttp", "drayman.storage")), (path, module)
            if isinstance(node, ast.Attribute) and node.attr == "store":
                # QSettings objects are called settings stores too: only a queue's counts
                owner = ast.unparse(node.value)
                assert "queue" not in owner and "engine" not in owner, (path, ast.unparse(node))


def test_no_import_cycle_under_drayman() -> None:
    assert cycles(import_graph()) == []


def test_the_transfer_modules_stay_small() -> None:
    for name in ("transfer.py", "segmented.py"):
        lines = len((SRC / "queue" / name).read_text("utf-8").splitlines())
        assert lines < 500, f"queue/{name} has {lines} lines"
