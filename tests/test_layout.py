"""The repository's layout as docs/layout.md states it: the package map, and no import cycle between packages."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from .conftest import REPO_ROOT


def package_folders() -> dict[str, Path]:
    """Each installed package (`word2vec_hub.X`) and the folder that holds it, from pyproject.toml."""
    settings = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {name: REPO_ROOT / folder for name, folder in settings["package-dir"].items()}
    for name in settings["packages"]:
        folders.setdefault(name, REPO_ROOT / name.replace(".", "/"))
    return folders


def imported_packages(path: Path, packages: set[str]) -> set[str]:
    """The packages of `packages` that the module at `path` imports (at any depth: lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            # The longest package that is a prefix of the imported name.
            owners = [package for package in packages if name == package or name.startswith(package + ".")]
            if owners:
                found.add(max(owners, key=len))
    return found


def package_graph() -> dict[str, set[str]]:
    """Which package imports which (its own subpackages are packages of their own)."""
    folders = package_folders()
    packages = set(folders)
    graph: dict[str, set[str]] = {package: set() for package in packages}
    for package, folder in folders.items():
        for module in folder.glob("*.py"):
            graph[package] |= imported_packages(module, packages) - {package}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path that ends where it starts, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_every_package_of_the_map_is_a_folder_with_its_init():
    for package, folder in package_folders().items():
        assert (folder / "__init__.py").is_file(), f"{package} maps to {folder}, which is not a package"


def test_no_package_imports_one_that_imports_it_back():
    cycle = find_cycle(package_graph())
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_chain():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_model_code_imports_only_torch_transformers_and_its_siblings():
    """modeling/ is copied to the Hub beside the weights (trust_remote_code): it must load where only torch and
    transformers are installed. A method may import an optional extra inside its body (POT for `wmdistance`), where
    a missing one fails that method alone."""
    standard_library = {"__future__", "collections", "dataclasses", "math", "os", "pathlib", "typing", "warnings"}
    optional_extras = {"ot"}
    for module in (REPO_ROOT / "modeling").glob("*.py"):
        tree = ast.parse(module.read_text())
        in_functions = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            elif isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            else:
                continue
            allowed = (
                {"torch", "transformers"} | standard_library | (optional_extras if id(node) in in_functions else set())
            )
            assert roots <= allowed, f"{module.name} imports {roots}"


def test_tests_share_helpers_through_conftest_not_through_other_test_files():
    for module in (REPO_ROOT / "tests").glob("test_*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                assert not (node.module or "").startswith("test_"), f"{module.name} imports from {node.module}"
