"""The layering of DESIGN.md, enforced: imports point down, no cycles, no hidden local imports.

Ranks, lowest first: core < msgs, model, preview < export, synthetic < runtime < node, calibration < training < cli.
A module may import its own folder and folders of a lower rank; folders of equal rank never import each
other (node/ and calibration/ above all). A function-level import of the package's own modules is allowed
only where the imported module needs an optional heavy dependency (torch, tensorrt, rclpy, ...).
"""

from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PACKAGE = "depth_anything_ros"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
RANKS = {"core": 0, "msgs": 1, "model": 1, "preview": 1, "export": 2, "synthetic": 2, "runtime": 3,
         "node": 4, "calibration": 4, "training": 5, "cli": 6}
HEAVY = {"torch", "tensorrt", "pycuda", "cuda", "rclpy", "onnxruntime", "onnx", "matplotlib",
         "huggingface_hub", "safetensors", "rosbags", "launch", "launch_ros"}


@dataclass
class Module:
    name: str
    path: Path
    top: set[str] = field(default_factory=set)  # package modules imported at module level
    local: set[str] = field(default_factory=set)  # package modules imported inside functions
    heavy: bool = False  # imports an optional heavy dependency at module level


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node: ast.AST, name: str, is_package: bool, known: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    assert isinstance(node, ast.ImportFrom)
    base = node.module or ""
    if node.level:
        parts = name.split(".") if is_package else name.split(".")[:-1]
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join(parts + ([node.module] if node.module else []))
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def scan(root: Path = ROOT) -> dict[str, Module]:
    """Every module of the package at ``root`` with what it imports (the real tree, or a planted copy)."""
    paths = sorted(root.rglob("*.py"))
    known = {module_name(p, root) for p in paths}
    modules = {}
    for path in paths:
        name = module_name(path, root)
        module = Module(name, path)
        tree = ast.parse(path.read_text())
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        inside = {id(n) for f in functions for n in ast.walk(f)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in imported(node, name, path.name == "__init__.py", known):
                if target.split(".")[0] == PACKAGE:
                    owner = max((k for k in known if target == k or target.startswith(k + ".")), key=len)
                    (module.local if id(node) in inside else module.top).add(owner)
                elif id(node) not in inside and target.split(".")[0] in HEAVY:
                    module.heavy = True
        module.top.discard(name)
        module.local.discard(name)
        modules[name] = module
    return modules


MODULES = scan()


def folder(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def needs_heavy(name: str, modules: dict[str, Module], seen: frozenset[str] = frozenset()) -> bool:
    module = modules[name]
    return module.heavy or any(needs_heavy(t, modules, seen | {name}) for t in module.top if t not in seen)


def outside_the_layout(modules: dict[str, Module]) -> list[str]:
    flat = [n for n in modules if folder(n) is None and n != PACKAGE]
    return flat + sorted({folder(n) for n in modules if folder(n) and folder(n) not in RANKS})


def upward_imports(modules: dict[str, Module]) -> list[str]:
    upward = []
    for module in modules.values():
        here = folder(module.name)
        for target in module.top | module.local:
            there = folder(target)
            if here is None or there is None or here == there:
                continue
            if RANKS[there] >= RANKS[here]:
                upward.append(f"{module.name} -> {target}")
    return sorted(upward)


def import_cycles(modules: dict[str, Module]) -> list[str]:
    graph = {n: {t for t in m.top | m.local if t in modules} for n, m in modules.items()}
    # a package's __init__ re-exporting its own modules is not a cycle of ideas
    for name in graph:
        if modules[name].path.name == "__init__.py":
            graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                path = [*stack[stack.index(nxt):], node, nxt] if nxt in stack else [node, nxt]
                cycles.append(" -> ".join(path))
            elif nxt not in state:
                visit(nxt, [*stack, node])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    return cycles


def hidden_imports(modules: dict[str, Module]) -> list[str]:
    return [f"{m.name} -> {t}" for m in modules.values() for t in sorted(m.local) if not needs_heavy(t, modules)]


FAMILY_PACKAGES = (f"{PACKAGE}.model.v2", f"{PACKAGE}.model.da3")  # a family's internals, behind model.family


def family_classes(root: Path = ROOT) -> set[str]:
    """Class names defined inside the families' subpackages (their networks, specs, fused modules)."""
    return {node.name for package in ("v2", "da3") for path in (root / "model" / package).rglob("*.py")
            for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ClassDef)}


def family_seam_breaches(modules: dict[str, Module], root: Path = ROOT) -> list[str]:
    """Outside model/: imports of a family's internals, and ``isinstance`` checks against a family's classes."""
    classes = family_classes(root)
    breaches = []
    for module in modules.values():
        if folder(module.name) == "model":
            continue
        breaches += [f"{module.name} imports {t}" for t in sorted(module.top | module.local)
                     if t.startswith(FAMILY_PACKAGES)]
        for node in ast.walk(ast.parse(module.path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance" and len(node.args) == 2:
                named = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
                named |= {n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}
                breaches += [f"{module.name}:{node.lineno} isinstance(..., {c})" for c in sorted(named & classes)]
    return breaches


def test_callers_ask_the_model_family_never_its_internals():
    """DESIGN habit 7: runtime, CLI, training, node ask ``model.family``; none branches on a family again."""
    breaches = family_seam_breaches(MODULES)
    assert not breaches, "the model-family seam is bypassed:\n" + "\n".join(breaches)


def test_the_family_seam_check_reports_planted_breaches(tmp_path):
    copy = tmp_path / PACKAGE
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    assert family_seam_breaches(scan(copy), copy) == []
    (copy / "runtime" / "planted_seam.py").write_text(
        f"from {PACKAGE}.model.da3.network import Da3Model\n\n\n"
        "def is_da3(net):\n    return isinstance(net, (Da3Model, int))\n")
    assert family_seam_breaches(scan(copy), copy) == [
        f"{PACKAGE}.runtime.planted_seam imports {PACKAGE}.model.da3.network",
        f"{PACKAGE}.runtime.planted_seam:5 isinstance(..., Da3Model)"]


def test_every_module_lives_in_a_ranked_folder():
    outside = outside_the_layout(MODULES)
    assert not outside, f"modules outside the layout: {outside}"


def test_imports_point_down_the_layers():
    upward = upward_imports(MODULES)
    assert not upward, "imports that point up or sideways:\n" + "\n".join(upward)


def test_no_import_cycles():
    cycles = import_cycles(MODULES)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_function_level_imports_are_for_heavy_dependencies_only():
    hidden = hidden_imports(MODULES)
    assert not hidden, "function-level imports of light modules (import them at the top):\n" + "\n".join(hidden)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if MODULES[n].path.name == "__init__.py"))
def test_each_folder_says_what_it_offers(name):
    tree = ast.parse(MODULES[name].path.read_text())
    assert ast.get_docstring(tree), f"{name}/__init__.py needs a docstring saying what the folder offers"
    if name != PACKAGE:
        assert any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
                   for n in tree.body), f"{name}/__init__.py needs __all__"


def test_the_checkers_report_each_planted_violation_in_a_copy_of_the_package(tmp_path):
    """The scan and every check run on a copy of the package: clean as it is, then each planted import
    (absolute and relative, module level and in a function) is reported, and nothing else."""
    copy = tmp_path / PACKAGE
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    clean = scan(copy)
    assert set(clean) == set(MODULES)
    assert (upward_imports(clean), import_cycles(clean), hidden_imports(clean), outside_the_layout(clean)) == \
        ([], [], [], [])
    core, node = f"{PACKAGE}.core", f"{PACKAGE}.node"
    (copy / "core" / "planted.py").write_text(f"from {node} import pipeline\n")
    (copy / "core" / "planted_relative.py").write_text("from ..calibration import head_fit\n")
    (copy / "core" / "planted_hidden.py").write_text("def f():\n    from . import stamps\n    return stamps\n")
    (copy / "core" / "cycle_a.py").write_text("from . import cycle_b\n")
    (copy / "core" / "cycle_b.py").write_text(f"import {core}.cycle_a\n")
    (copy / "stray.py").write_text("")
    planted = scan(copy)
    assert upward_imports(planted) == [f"{core}.planted -> {node}.pipeline",
                                       f"{core}.planted_relative -> {PACKAGE}.calibration.head_fit"]
    assert import_cycles(planted) == [f"{core}.cycle_a -> {core}.cycle_b -> {core}.cycle_a"]
    assert hidden_imports(planted) == [f"{core}.planted_hidden -> {core}.stamps"]
    assert outside_the_layout(planted) == ["stray"]  # a module beside the folders: in no ranked folder


def test_the_node_runtime_path_imports_no_torch_and_no_matplotlib():
    """DESIGN: the node needs numpy, OpenCV and one backend; torch only for the torch backend and training."""
    import subprocess
    import sys

    code = ("import sys, depth_anything_ros.node.ros_node, depth_anything_ros.node.replay\n"
            "print(sorted(m for m in ('torch', 'matplotlib', 'onnx') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"heavy modules on the node's import path: {done.stdout}"
