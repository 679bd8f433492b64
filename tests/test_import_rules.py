"""The house rules of imports, read from the source (no module is run):

- arrows point one way: bot → storage, bot → blocks; storage and blocks never import bot;
- blocks never queries: it imports nothing of storage but the leaf storage/domain.py;
- storage/domain.py is a leaf: it imports nothing of the project;
- inside bot/, each folder imports only the folders below it (BOT_FOLDERS): slack/ is
  the bottom, and neither it nor runtime/, publishing/ or scheduler/ reaches up into
  the listeners or the entry points;
- the listeners are leaves: only the app factory and the manifest import them;
- no cycle among the imports a module makes when it is loaded.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "blocks", "storage")
LEAF = "storage.domain"

# What each folder of bot/ may import of bot/ (storage and blocks aside). The top level
# (bot/app.py, cli, server, prefork, manifest, doctor) and the listeners are above all.
BOT_FOLDERS = {
    "bot.slack": ("bot.config", "bot.slack"),
    "bot.publishing": ("bot.config", "bot.slack", "bot.publishing"),
    "bot.scheduler": ("bot.config", "bot.slack", "bot.publishing", "bot.scheduler"),
    "bot.runtime": ("bot.config", "bot.slack", "bot.runtime"),
}
# Who may import bot/listeners/: the app factory registers them, the manifest describes them.
LISTENERS = "bot.listeners"
IMPORT_LISTENERS = ("bot.app", "bot.manifest")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = modules()


def imports_of(path: Path, *, load_time_only: bool) -> set[str]:
    """Project modules `path` imports (all of them, or only those at load time: not
    inside functions, not under `if TYPE_CHECKING`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()

    def visit(node: ast.AST, at_load: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = at_load
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                inner = False
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                inner = False
            if isinstance(child, ast.Import) and (inner or not load_time_only):
                found.update(alias.name for alias in child.names)
            if isinstance(child, ast.ImportFrom) and (inner or not load_time_only):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child, inner)

    visit(tree, True)
    return {name for name in found if name.split(".")[0] in PACKAGES and name in MODULES}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.startswith("bot")))
def test_storage_and_blocks_never_import_bot(name):
    assert not {m for m in imports_of(MODULES[name], load_time_only=False) if m.startswith("bot")}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("blocks")))
def test_blocks_import_only_the_leaf_of_storage(name):
    storage = {m for m in imports_of(MODULES[name], load_time_only=False)
               if m.startswith("storage") and m != "storage"}
    assert storage <= {LEAF}, f"{name} imports {sorted(storage - {LEAF})}"


def test_the_leaf_imports_nothing_of_the_project():
    assert imports_of(MODULES[LEAF], load_time_only=False) == set()


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def out_of_bounds(name: str, imported: set[str]) -> set[str]:
    """What `name` imports of bot/ that its folder may not, and listeners it may not."""
    bad = set()
    folder = next((f for f in BOT_FOLDERS if within(name, f)), None)
    if folder is not None:
        bad |= {m for m in imported if within(m, "bot") and m != "bot"
                and not any(within(m, allowed) for allowed in BOT_FOLDERS[folder])}
    if not within(name, LISTENERS) and name not in IMPORT_LISTENERS:
        bad |= {m for m in imported if within(m, LISTENERS)}
    return bad


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("bot")))
def test_bot_folders_import_only_the_folders_below_and_never_a_listener(name):
    bad = out_of_bounds(name, imports_of(MODULES[name], load_time_only=False))
    assert not bad, f"{name} imports {sorted(bad)}"


def test_every_folder_of_bot_has_a_rule():
    folders = {".".join(n.split(".")[:2]) for n in MODULES
               if n.startswith("bot.") and (ROOT / n.replace(".", "/")).is_dir()}
    assert folders == {*BOT_FOLDERS, LISTENERS}


def test_no_import_cycle_at_load_time():
    graph = {name: imports_of(path, load_time_only=True) - {name} for name, path in MODULES.items()}
    # A package's __init__ importing its own modules is how packages work, not a cycle.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".") and m not in PACKAGES}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                walk(target)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name)


def test_the_checker_sees_a_cycle_and_a_forbidden_import(tmp_path, monkeypatch):
    """The rules above can fail: a made-up blocks module that imports bot and a query."""
    bad = ROOT / "blocks" / "_import_rule_probe.py"
    bad.write_text("from bot.runtime.ui import later\nfrom storage.plans import get_plan\n", encoding="utf-8")
    try:
        imported = imports_of(bad, load_time_only=False)
        assert "bot.runtime.ui" in imported and "storage.plans" in imported
    finally:
        bad.unlink()
    # …and the folders of bot/: the Slack layer reaching up, a job importing a listener.
    assert out_of_bounds("bot.slack.dms", {"bot.runtime.ui", "bot.slack.errors", "bot.config"}) == {"bot.runtime.ui"}
    assert out_of_bounds("bot.scheduler.passes", {"bot.listeners.plans", "bot.listeners", "bot.publishing"}) \
        == {"bot.listeners.plans", "bot.listeners"}
    assert out_of_bounds("bot.server", {"bot.listeners.home"}) == {"bot.listeners.home"}
    assert out_of_bounds("bot.app", {"bot.listeners", "bot.runtime.ui"}) == set()
