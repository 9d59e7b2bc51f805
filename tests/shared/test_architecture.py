"""The shape of the code (issue #11): imports flow app → functions → shared with no cycle anywhere (imports inside
functions included), no module outside shared/storage/ knows which storage backend runs, handlers stay thin."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import PROJECT_DIR

ROOTS = ("app.py", "functions", "shared")


def _modules() -> dict[str, Path]:
    found = {"app": PROJECT_DIR / "app.py"}
    for root in ("functions", "shared"):
        for path in (PROJECT_DIR / root).rglob("*.py"):
            parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every project module `path` imports, wherever the import statement stands (top level or in a function)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in modules else node.module)
    return {m for m in out if m in modules and modules[m].name != "__init__.py"}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) for name, path in modules.items()}


def test_imports_flow_one_way():
    for name, imported in _graph().items():
        if name.startswith("shared"):
            assert not {m for m in imported if m == "app" or m.startswith("functions")}, name
        if name.startswith("functions"):
            assert "app" not in imported, name


def test_there_is_no_import_cycle_not_even_through_an_import_inside_a_function():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in sorted(graph.get(name, ())):
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_only_the_storage_room_knows_which_backend_runs():
    backends = ("LocalStorage", "CloudinaryStorage", "S3Storage", "cloudinary_store", "storage.local", "storage.s3")
    offenders = []
    for name, path in _modules().items():
        # settings validates the configuration itself (STORAGE's values, CLOUDINARY_URL / S3_BUCKET required)
        if name.startswith("shared.storage") or name == "shared.settings":
            continue
        text = path.read_text()
        offenders += [f"{name}: {word}" for word in backends if word in text]
        offenders += [f"{name}: compares a backend name" for node in ast.walk(ast.parse(text))
                      if isinstance(node, ast.Compare)
                      and any(isinstance(c, ast.Constant) and c.value in ("local", "cloudinary", "s3")
                              for c in [node.left, *node.comparators])]
    assert offenders == []


def test_handlers_are_thin():
    """who → parse → delegate → shape: about 20 lines at most (docstring and decorators not counted)."""
    fat = []
    for path in sorted((PROJECT_DIR / "functions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Call) and getattr(d.func, "attr", "") in ("route", "on_sqs_message", "schedule")
                    for d in node.decorator_list):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                lines = body[-1].end_lineno - body[0].lineno + 1
                if lines > 20:
                    fat.append(f"{path.name}:{node.name} ({lines} lines)")
    assert fat == []
