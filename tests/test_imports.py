"""The project's modules import on their own, and none imports another that (through any chain)
imports it back.

An import cycle works only as long as nobody changes which module is imported first, and
hiding one behind an import inside a function only moves the failure to the first call: so
the static check below counts imports inside functions as edges too. Imports only for type
checkers (`if TYPE_CHECKING:`) are not edges: they never run.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("console", "executor", "scripts", "bench")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or "runtimes" in path.parts:
                continue  # generated schema steps; code run inside function containers
            modules[_module_name(path)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every import statement, at any depth, except those under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports (the most specific one each import names)."""
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base_parts = package.split(".")
                    base_parts = base_parts[:len(base_parts) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                # `from pkg import sub` imports the submodule pkg.sub when there is one.
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]  # `import a.b.c` of a name inside a.b
                if target and target != name:
                    edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[tuple[list[str], list[str]]]:
    """For each group of modules that import one another (a strongly connected component,
    by Tarjan's algorithm): one cycle through it, and the group."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [(_a_cycle(edges, set(group)), group) for group in groups]


def _a_cycle(edges: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest cycle through the group's first module, as a readable chain."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(edges[node] & group):
                if target == start:
                    return paths[node] + [start]
                if target not in paths:
                    paths[target] = paths[node] + [target]
                    following.append(target)
        frontier = following
    return sorted(group)


def test_no_import_cycle_among_the_projects_modules():
    found = cycles(import_edges(project_modules()))
    assert not found, "import cycles (imports inside functions count):\n" + "\n".join(
        f"{' -> '.join(cycle)}   (modules in one loop: {', '.join(sorted(group))})" for cycle, group in found)


def test_the_checker_sees_a_cycle_hidden_inside_a_function(tmp_path):
    """The check itself: a cycle closed by an import inside a function is one."""
    modules = {"pkg": tmp_path / "pkg" / "__init__.py", "pkg.a": tmp_path / "pkg" / "a.py",
               "pkg.b": tmp_path / "pkg" / "b.py"}
    (tmp_path / "pkg").mkdir()
    modules["pkg"].write_text("")
    modules["pkg.a"].write_text("from . import b\n")
    modules["pkg.b"].write_text("def later():\n    from .a import thing\n")
    assert [cycle for cycle, _ in cycles(import_edges(modules))] == [["pkg.a", "pkg.b", "pkg.a"]]


# Run in a fresh interpreter: Django is set up once (as the tests and every process do), the
# third-party packages the project imports are loaded, then each project module is imported
# in a forked child of its own, so it is the first project module that child imports (those
# Django's setup loads itself are imported first in every process anyway).
_FORKING_IMPORTER = """
import importlib, json, os, sys, traceback
names, libraries = json.loads(sys.argv[1]), json.loads(sys.argv[2])
import django
django.setup()
for library in libraries:
    try:
        importlib.import_module(library)
    except Exception:
        pass  # an optional package: the child's own import will say if it matters
failures = {}
for name in names:
    if name in sys.modules:
        continue
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        code = 0
        try:
            importlib.import_module(name)
        except BaseException:
            os.write(write, traceback.format_exc()[-3000:].encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        output = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if status:
        failures[name] = output or f"exit status {status}"
print(json.dumps(failures))
"""


def _third_party(modules: dict[str, Path]) -> list[str]:
    roots = {name.split(".")[0] for name in modules}
    found = set()
    for path in modules.values():
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif not node.level and node.module:
                found.add(node.module)
    return sorted(name for name in found if name.split(".")[0] not in roots and name.split(".")[0] != "tests")


def test_each_module_imports_on_its_own():
    """Whichever project module a process imports first, its imports succeed (a cycle fails for one of them)."""
    modules = project_modules()
    names = list(modules)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    # The programs of scripts/ and bench/ set up Django themselves (bench/ with its own settings):
    # each gets an interpreter of its own.
    programs = [name for name in names if name.startswith(("scripts", "bench"))]
    libraries = [name for name in names if name not in programs]
    done = subprocess.run([sys.executable, "-c", _FORKING_IMPORTER, json.dumps(libraries),
                           json.dumps(_third_party(modules))], cwd=ROOT, env=env, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    failures = [f"import {name} failed:\n{output}" for name, output in json.loads(done.stdout.splitlines()[-1]).items()]
    for name in programs:
        alone = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=ROOT, env=env, capture_output=True,
                               timeout=120)
        if alone.returncode:
            failures.append(f"import {name} failed:\n{alone.stderr.decode(errors='replace')[-3000:]}")
    assert not failures, "\n\n".join(failures)
