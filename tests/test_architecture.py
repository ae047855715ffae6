"""The layout's rules (docs/architecture.md), read from the import statements themselves.

Imports point down the layers, never up, never in a circle, and never hide
inside a function; the engine knows no HTTP, SQL or Twilio, storage no Twilio.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each package's layer: a module imports from lower layers and its own package only.
LAYERS = {"bot": 0, "storage": 1, "xlsform": 1, "service": 2, "outbound": 3, "web": 4, "app": 5}
# What opens a connection: no module of the engine's package may hold one.
CONNECTING = {"sqlite3", "psycopg", "psycopg2", "socket", "http", "urllib", "requests", "httpx"}
FORBIDDEN = {  # third-party packages a layer must not know
    "bot": {"flask", "werkzeug", "sqlalchemy", "sqlmodel", "alembic", "twilio", *CONNECTING},
    "storage": {"flask", "werkzeug", "twilio"},
    "xlsform": {"flask", "werkzeug", "sqlalchemy", "sqlmodel", "twilio"},
    "service": {"flask", "werkzeug", "twilio"},
}

Imports = list[tuple[str, int, bool]]  # (module, line, inside a function?)


def modules(root: Path) -> dict[str, Path]:
    """Every first-party module of the application under `root` (not tests), by name."""
    found = {}
    for package in LAYERS:
        single = root / f"{package}.py"
        paths = [single] if single.exists() else sorted((root / package).rglob("*.py"))
        for path in paths:
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, found: dict[str, Path]) -> Imports:
    """Each import of a module, with its line and whether it sits inside a function."""
    path = found[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    result: Imports = []

    def visit(node: ast.AST, inner: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                result.extend((alias.name, child.lineno, inner) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _absolute(child, package)
                # `from web import settings` names the module web.settings; `from web
                # import create_app` names the package web.
                names = {f"{base}.{a.name}" if f"{base}.{a.name}" in found else base
                         for a in child.names}  # fmt: skip
                result.extend((n, child.lineno, inner) for n in sorted(names))
            visit(child, inner or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(ast.parse(path.read_text(), str(path)), False)
    return result


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The absolute module name of a `from ... import`, relative ones resolved."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    return ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [node.module])])


def top(module: str) -> str:
    """The top-level package of a module name."""
    return module.split(".")[0]


def violations(root: Path) -> list[str]:
    """Every breach of the layout's rules under `root`, one line each."""
    found = modules(root)
    graph: dict[str, set[str]] = {}
    problems = []
    for name, path in sorted(found.items()):
        where = path.relative_to(root)
        every = imports(name, found)
        own = [(t, line, inner) for t, line, inner in every if t in found and t != name]
        graph[name] = {t for t, _, _ in own}
        for target, line, inner in own:
            if top(target) != top(name) and LAYERS[top(target)] >= LAYERS[top(name)]:
                problems.append(f"{where}:{line}: imports {target}, which is not below it")
            if inner:
                problems.append(f"{where}:{line}: imports {target} inside a function")
        for target, line, _ in every:
            if top(target) in FORBIDDEN.get(top(name), ()):
                problems.append(f"{where}:{line}: {top(name)}/ must not import {top(target)}")
    return problems + [f"import circle: {' -> '.join(c)}" for c in circles(graph)]


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of a module graph, each once."""
    found, done = [], set()

    def walk(node: str, trail: list[str]) -> None:
        if node in trail:
            found.append(trail[trail.index(node) :] + [node])
        elif node not in done:
            for target in sorted(graph.get(node, ())):
                walk(target, [*trail, node])
            done.add(node)

    for name in sorted(graph):
        walk(name, [])
    return found


def test_the_application_keeps_the_layout():
    assert violations(ROOT) == []
    assert {"app", "web", "outbound", "service", "storage", "bot"} <= {
        top(name) for name in modules(ROOT)
    }


# The conversation engine decides from what it is given: it reaches no module that
# serves surveys (reads the folder, watches it, settles claims) or stores anything.
ENGINE = "bot.conversation"
SERVING = {"bot.catalog", "bot.watch", "bot.checking"}


def reached(name: str, found: dict[str, Path]) -> set[str]:
    """Every first-party module that `name` imports, directly or through others."""
    seen, todo = set(), [name]
    while todo:
        for target, _, _ in imports(todo.pop(), found):
            if target in found and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_engine_reaches_nothing_that_serves_or_stores():
    reach = reached(ENGINE, modules(ROOT))
    assert "bot.flow" in reach  # the walk follows imports
    assert reach & SERVING == set()
    assert {top(name) for name in reach} == {"bot"}


def test_each_kind_of_breach_is_reported(tmp_path):
    files = {
        "bot/__init__.py": "",
        "bot/engine.py": "import flask\nfrom web import views\n",
        "storage/__init__.py": "",
        "storage/store.py": "def load():\n    from bot import engine\n",
        "web/__init__.py": "",
        "web/views.py": "from . import forms\n",
        "web/forms.py": "from web.views import thing\n",
    }
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(source)
    assert violations(tmp_path) == [
        "bot/engine.py:2: imports web.views, which is not below it",
        "bot/engine.py:1: bot/ must not import flask",
        "storage/store.py:2: imports bot.engine inside a function",
        "import circle: web.views -> web.forms -> web.views",
    ]
