"""The house's floors, checked on the source: a module imports only from the floors below its
own (pipelines/README.md draws them), the libraries never import `pipelines` or Dagster, and no
module-level imports go round in a cycle. Read from the ast, so a lazy import inside a function
counts for the floors too: it is a dependency all the same."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("contracts", "corpus_quality", "evals")
# Highest first. A room may import its own modules and any room on a lower floor; rooms on one
# floor never import each other. The bottom floor is the foundation every room stands on.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("cli", "defs", "serving"),
    ("governance",),
    ("run", "evaluation"),
    ("contract", "index"),
    ("ledger",),
    ("document", "embedding"),
    ("settings", "storage", "errors", "offline", "stop_points"),
)
FOUNDATION = FLOORS[-1]


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("pipelines", *LIBRARIES):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(tree: ast.Module, module_level_only: bool) -> Iterator[tuple[str, int]]:
    """(imported module, line): `from a.b import c` names `a.b.c` when that is a module."""

    def visit(nodes: list[ast.stmt]) -> Iterator[tuple[str, int]]:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                if not module_level_only:
                    yield from visit(node.body)
                continue
            if isinstance(node, ast.Import):
                yield from ((alias.name, node.lineno) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    yield (full if full in MODULES else node.module), node.lineno
            if module_level_only:
                if isinstance(node, (ast.If, ast.Try, ast.With)):
                    bodies = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])]
                    bodies += [h.body for h in getattr(node, "handlers", [])]
                    for body in bodies:
                        yield from visit(body)
            else:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        yield from visit([child])
                    else:
                        yield from visit([n for n in ast.walk(child) if isinstance(n, ast.stmt)])

    yield from visit(tree.body)


def _room(module: str) -> str | None:
    """The room of a pipelines module: its first name under `pipelines`."""
    parts = module.split(".")
    if parts[0] != "pipelines":
        return None
    if len(parts) == 1:
        return "settings"  # the package itself sets the offline switches: the foundation
    # The code location's entry point (workspace.yaml) belongs to the Dagster layer.
    return "defs" if parts[1] == "definitions" else parts[1]


def _floor(room: str) -> int:
    for level, rooms in enumerate(FLOORS):
        if room in rooms:
            return level
    raise AssertionError(f"pipelines/{room} is on no floor: add it to FLOORS and pipelines/README.md")


def test_every_room_is_on_a_floor() -> None:
    rooms = {_room(m) for m in MODULES if m.startswith("pipelines")}
    for room in sorted(r for r in rooms if r):
        _floor(room)


def _layer_violations() -> list[str]:
    problems = []
    for module, path in MODULES.items():
        package = module.split(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for imported, line in _imports(tree, module_level_only=False):
            top = imported.split(".")[0]
            where = f"{path.relative_to(REPO_ROOT)}:{line} imports {imported}"
            if package in LIBRARIES:
                if top in ("pipelines", "dagster"):
                    problems.append(f"{where}: a library never imports pipelines or Dagster")
                continue
            if top != "pipelines":
                continue
            room, target = _room(module), _room(imported)
            assert room is not None and target is not None
            if room == target or (room in FOUNDATION and target in FOUNDATION):
                continue
            if _floor(target) <= _floor(room):
                problems.append(f"{where}: {room} may only import rooms on lower floors")
    return problems


def test_rooms_import_only_lower_floors_and_libraries_stay_plain() -> None:
    assert _layer_violations() == []


def test_dagster_stays_in_the_dagster_layer() -> None:
    """Only pipelines/defs/ and the code location's entry point know Dagster."""
    found = []
    for module, path in MODULES.items():
        if _room(module) == "defs":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [
            f"{path.relative_to(REPO_ROOT)}:{line}"
            for imported, line in _imports(tree, module_level_only=False)
            if imported.split(".")[0] == "dagster"
        ]
    assert found == []


def _packages_of(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _module_graph() -> dict[str, set[str]]:
    """Module -> the modules its module-level imports run."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        edges = set()
        own_packages = _packages_of(module)
        for imported, _line in _imports(ast.parse(path.read_text(encoding="utf-8")), module_level_only=True):
            while imported and imported not in MODULES:
                imported = imported.rpartition(".")[0]
            if imported and imported != module:
                # Importing a module runs its packages' __init__ first, unless they are the
                # importer's own (already running when it runs).
                edges |= ({imported} | _packages_of(imported)) - own_packages - {module}
        graph[module] = {e for e in edges if e in MODULES}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
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
            connect(node)
    return found


def test_no_module_level_import_cycles() -> None:
    assert _cycles(_module_graph()) == []


@pytest.mark.parametrize(
    "room", ["document", "embedding", "index", "ledger", "contract", "run", "governance"]
)
def test_tests_mirror_the_rooms(room: str) -> None:
    assert (REPO_ROOT / "tests" / "pipelines" / room).is_dir(), (
        f"tests/pipelines/{room}/ mirrors pipelines/{room}/"
    )
