"""A newcomer can read the layers off the tree: imports go one way, from the web
and the CLI down to the codec, never round in a circle, and nothing below the
web layer knows that there is a web server.

Every ``import`` in every module counts, also those made inside a function or
only for type checking: a circle that only type checkers see is still a
circle a reader has to untangle. docs/architecture.md draws these layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "daemon" / "twitchd"

#: From the ground up. A module may import from its own layer and the ones below.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("twitchd", "twitchd.errors", "twitchd.events", "twitchd.clock", "twitchd.timeline",
                    "twitchd.marks", "twitchd.agreement", "twitchd.ppt", "twitchd.svgplot", "twitchd.origins",
                    "twitchd.settings", "twitchd.webassets", "twitchd.store.paths", "twitchd.sim.sensors",
                    "twitchd.sim.shapes", "twitchd.signal.filters", "twitchd.signal.matching", "twitchd.ble",
                    "twitchd.lsl", "twitchd.sim", "twitchd.signal", "twitchd.store", "twitchd.routes")),
    ("codec", ("twitchd.protocol",)),
    ("signal", ("twitchd.signal",)),
    ("sources", ("twitchd.sim", "twitchd.transports", "twitchd.ble", "twitchd.calibrate",
                 "twitchd.store.calibrations")),
    ("pipeline", ("twitchd.pipeline", "twitchd.hub", "twitchd.acquisition")),
    ("store", ("twitchd.store", "twitchd.recordings", "twitchd.evaluate", "twitchd.report", "twitchd.bench",
               "twitchd.lsl.outlets", "twitchd.lsl.streams")),
    ("daemon", ("twitchd.daemon", "twitchd.marking")),
    ("web/CLI", ("twitchd.api", "twitchd.validation", "twitchd.routes", "twitchd.cli", "twitchd.evaluate_cli",
                 "twitchd.ble.commands", "twitchd.__main__")),
]
WEB = {"twitchd.api", "twitchd.validation", "twitchd.routes", "twitchd.cli", "twitchd.evaluate_cli",
       "twitchd.__main__"}
SERVER = ("fastapi", "starlette", "uvicorn")


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(path: Path, known: dict[str, Path]) -> tuple[set[str], set[str]]:
    """(twitchd modules, other top-level packages) that ``path`` imports anywhere in it."""
    ours, others = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                     for a in node.names]
        for name in names:
            if name.split(".")[0] != "twitchd":
                others.add(name.split(".")[0])
                continue
            while name not in known:
                name = name.rpartition(".")[0]
            ours.add(name)
    return ours, others


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    known = modules()
    ours, others = {}, {}
    for name, path in known.items():
        ours[name], others[name] = imports(path, known)
        ours[name].discard(name)
    return ours, others


def layer_of(module: str) -> int:
    """The highest layer whose prefix names the module most closely (the longest matching prefix wins)."""
    best, depth = -1, -1
    for k, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            covers = module == p or (p != "twitchd" and module.startswith(p + "."))  # the package itself only
            if covers and len(p) >= depth:
                best, depth = (k if len(p) > depth else max(best, k)), len(p)
    return best


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the modules along it, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(edges[v]):
            if state.get(w) == 1:
                return path[path.index(w):] + [w]
            if w not in state and (found := visit(w)):
                return found
        path.pop()
        state[v] = 2
        return None

    for v in sorted(edges):
        if v not in state and (found := visit(v)):
            return found
    return None


def test_no_module_imports_its_way_back_to_itself() -> None:
    ours, _ = graph()
    found = cycle(ours)
    assert found is None, "import circle: " + " -> ".join(found or [])


def test_the_cycle_finder_finds_a_circle_when_there_is_one() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_every_module_sits_in_a_layer_and_imports_only_its_own_or_lower_ones() -> None:
    ours, _ = graph()
    unplaced = sorted(m for m in ours if layer_of(m) < 0)
    assert not unplaced, f"modules in no layer (add them to LAYERS and docs/architecture.md): {unplaced}"
    upward = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {d} ({LAYERS[layer_of(d)][0]})"
              for m, deps in sorted(ours.items()) for d in sorted(deps) if layer_of(d) > layer_of(m)]
    assert not upward, "imports that go up a layer:\n" + "\n".join(upward)


@pytest.mark.parametrize("server", SERVER)
def test_nothing_below_the_web_layer_imports_the_web_server(server: str) -> None:
    _, others = graph()
    below = sorted(m for m, pkgs in others.items() if server in pkgs and m not in WEB and not m.startswith("twitchd.routes"))
    assert not below, f"{server} imported below the web layer by {below}"


def test_the_routes_take_the_daemon_from_the_app_not_from_the_api_module() -> None:
    ours, _ = graph()
    for name, deps in ours.items():
        if name.startswith("twitchd.routes"):
            assert "twitchd.api" not in deps, f"{name} imports twitchd.api"
    assert "twitchd.api" not in ours["twitchd.daemon"] and "twitchd.routes" not in {d.rpartition(".")[0] for d in ours["twitchd.daemon"]}
