"""The dependency direction that can be read off the source: the demo sits on top.

Every module under dpkit/ is parsed with ``ast`` (nothing is imported), so the rule holds for
imports at module level, inside functions and under ``if TYPE_CHECKING:`` alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dpkit"
#: The only modules outside dpkit/demo/ allowed to import the demo.
DEMO_USERS = {"dpkit.cli"}


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(path: Path, root: Path = ROOT) -> set[str]:
    """Every module an import statement in ``path`` names, resolved to an absolute name.

    ``from X import y`` counts as importing both ``X`` and ``X.y`` (``y`` may be a module).
    """
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def _is_demo(module: str) -> bool:
    return module == "dpkit.demo" or module.startswith("dpkit.demo.")


def test_modules_are_found() -> None:
    names = {_module_name(p) for p in MODULES}
    assert {"dpkit", "dpkit.cli", "dpkit.demo", "dpkit.mechanisms.rqm"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_library_code_never_imports_the_demo(path: Path) -> None:
    module = _module_name(path)
    if _is_demo(module) or module in DEMO_USERS:
        return
    bad = sorted(m for m in _imported(path) if _is_demo(m))
    assert not bad, f"{module} imports {bad}: only dpkit.cli and dpkit/demo/ may import the demo"


def test_the_check_sees_every_spelling(tmp_path: Path) -> None:
    """Absolute, relative, function-local and ``from dpkit import demo`` imports all count."""
    spellings = {
        "mechanisms/x.py": "def f():\n    from ..demo import DemoPart\n",
        "mechanisms/y/__init__.py": "from ...demo.part import DemoPart\n",
        "a.py": "import dpkit.demo\n",
        "b.py": "from dpkit import demo\n",
        "c.py": "from . import demo\n",
        "d.py": "if True:\n    from dpkit.demo import run_demo\n",
    }
    for rel, src in spellings.items():
        path = tmp_path / "dpkit" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(src, encoding="utf-8")
        assert any(_is_demo(m) for m in _imported(path, tmp_path)), rel
    ok = tmp_path / "dpkit" / "e.py"
    ok.write_text("from .demonstration import x\nimport dpkit.demos\n", encoding="utf-8")
    assert not any(_is_demo(m) for m in _imported(ok, tmp_path))


# ----------------------------------------------------------------------------- no cycles
def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _edges(path: Path, modules: set[str], root: Path = ROOT) -> set[str]:
    """The dpkit modules ``path`` depends on at run time, by any import statement (module
    level or inside a function; ``if TYPE_CHECKING:`` blocks excluded).

    ``from X import y`` is an edge to the module ``X.y`` when ``y`` is a module, else to ``X``
    (whose ``__init__`` defines ``y``). Parent packages that Python initialises on the way
    are not edges: a package's ``__init__`` re-exporting its own modules is no cycle.
    """
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            for alias in node.names:
                sub = f"{origin}.{alias.name}"
                if sub in modules:
                    found.add(sub)
                elif origin in modules:
                    found.add(origin)
    found.discard(name)
    return found


def _cycles(root: Path) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), sorted."""
    paths = {_module_name(p, root): p for p in sorted((root / "dpkit").rglob("*.py"))}
    names = set(paths)
    graph = {m: sorted(_edges(p, names, root)) for m, p in paths.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_no_import_cycles_anywhere_in_dpkit() -> None:
    cycles = _cycles(ROOT)
    assert not cycles, f"import cycles (function-local imports count too): {cycles}"


def test_the_cycle_check_finds_cycles(tmp_path: Path) -> None:
    files = {
        "dpkit/__init__.py": "from . import a\n",
        "dpkit/a.py": "from .b import f\n",
        "dpkit/b.py": "def f():\n    from . import a\n",  # a function-local import: still a cycle
        "dpkit/p/__init__.py": "from .m import g\n",
        "dpkit/p/m.py": "from .n import h\n",  # the package face re-exporting: no cycle
        "dpkit/p/n.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                        "    from .m import g\nh = 1\n",
    }
    for rel, src in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(src, encoding="utf-8")
    assert _cycles(tmp_path) == [["dpkit.a", "dpkit.b"]]
    (tmp_path / "dpkit/p/n.py").write_text("from . import g\n", encoding="utf-8")  # via face
    assert _cycles(tmp_path) == [["dpkit.a", "dpkit.b"], ["dpkit.p", "dpkit.p.m", "dpkit.p.n"]]


# ------------------------------------------------------------- one shape for every mechanism
MECHANISMS = ["rqm", "additive", "smoothed_rr", "continual", "kde", "heavy_hitters", "bandits"]
#: Private plain-number math modules a package may keep below its params (no kernels there).
_KERNELS = {"_numba", "_jax"}


def _siblings(pkg: str) -> dict[str, set[str]]:
    """{module: the modules of the same package it imports}, names relative to the package."""
    base = f"dpkit.mechanisms.{pkg}"
    paths = {_module_name(p): p for p in (PACKAGE / "mechanisms" / pkg).glob("*.py")}
    names = {_module_name(p) for p in MODULES}
    out = {}
    for m, p in paths.items():
        rel = "__init__" if m == base else m[len(base) + 1:]
        out[rel] = {x[len(base) + 1:] if x != base else "__init__"
                    for x in _edges(p, names) if x == base or x.startswith(base + ".")}
    return out


@pytest.mark.parametrize("pkg", MECHANISMS)
def test_every_mechanism_has_the_common_modules(pkg: str) -> None:
    mods = _siblings(pkg)
    assert {"__init__", "params", "privacy", "reference", "mechanism"} <= set(mods), sorted(mods)


def _layer_violations(mods: dict[str, set[str]]) -> list[str]:
    """Every import inside one mechanism package that breaks the direction
    private math ← params ← privacy ← reference, kernels ← mechanism ← ``__init__``."""
    private_math = {m for m in mods if m.startswith("_") and m not in _KERNELS | {"__init__"}}
    allowed = {
        "params": private_math,
        "privacy": private_math | {"params"},
        **{k: private_math | {"params"} for k in _KERNELS},
        **{m: private_math for m in private_math},
    }
    bad = [f"{name} imports the package face" for name, deps in mods.items()
           if "__init__" in deps and name != "__init__"]
    for name, ok in allowed.items():
        if name in mods and not mods[name] <= ok:
            bad.append(f"{name} imports {sorted(mods[name] - ok)}")
    if mods.get("reference", set()) & (_KERNELS | {"mechanism"}):
        bad.append(f"reference imports {sorted(mods['reference'] & (_KERNELS | {'mechanism'}))}")
    return bad


@pytest.mark.parametrize("pkg", MECHANISMS)
def test_layers_inside_a_mechanism(pkg: str) -> None:
    """Plain-number private math at the bottom; params on it; privacy on params (the public
    ``privacy_event(params, ...)``); reference and the kernels below the public mechanism;
    nothing imports the package face or mechanism.py from below."""
    assert _layer_violations(_siblings(pkg)) == []


def test_the_layer_check_finds_violations() -> None:
    """The old "privacy.py at the bottom" placement (params importing privacy) is refused."""
    good = {"__init__": {"mechanism", "params", "privacy"}, "_math": set(),
            "params": {"_math"}, "privacy": {"params", "_math"}, "reference": {"params"},
            "_numba": {"params"}, "mechanism": {"params", "privacy", "reference", "_numba"}}
    assert _layer_violations(good) == []
    cases = {
        "params": {"privacy"},  # the privacy math must sit below the params, not in privacy.py
        "privacy": {"reference"},
        "_math": {"params"},
        "_numba": {"privacy"},
        "reference": {"mechanism"},
    }
    for name, extra in cases.items():
        mods = {k: set(v) for k, v in good.items()}
        mods[name] |= extra
        assert _layer_violations(mods), (name, extra)
    face = {k: set(v) for k, v in good.items()}
    face["mechanism"].add("__init__")
    assert _layer_violations(face) == ["mechanism imports the package face"]


@pytest.mark.parametrize("pkg", MECHANISMS)
def test_the_package_face_has_no_logic(pkg: str) -> None:
    path = PACKAGE / "mechanisms" / pkg / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defs = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert not defs, f"{pkg}/__init__.py defines {defs}"
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 110


# ------------------------------------------------------------------ the pipeline layer (#17)
#: The only modules outside dpkit/pipeline/ (and the demo) allowed to import dpkit.pipeline:
#: it sits on top of the mechanisms and the accountant, beside the demo.
PIPELINE_USERS = {"dpkit.cli"}
#: What dpkit/pipeline/ may import from dpkit (besides itself).
PIPELINE_MAY_IMPORT = ("dpkit.accounting", "dpkit.mechanisms", "dpkit.random",
                       "dpkit._validate", "dpkit.errors", "dpkit.backend")


def _is_pipeline(module: str) -> bool:
    return module == "dpkit.pipeline" or module.startswith("dpkit.pipeline.")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_only_the_top_imports_the_pipeline(path: Path) -> None:
    module = _module_name(path)
    if _is_pipeline(module) or _is_demo(module) or module in PIPELINE_USERS:
        return
    bad = sorted(m for m in _imported(path) if _is_pipeline(m))
    assert not bad, f"{module} imports {bad}: only dpkit.cli and dpkit/demo/ may"


def test_the_pipeline_imports_only_lower_layers() -> None:
    names = {_module_name(p) for p in MODULES}
    bad = {}
    for path in (PACKAGE / "pipeline").rglob("*.py"):
        deps = {m for m in _edges(path, names) if m.startswith("dpkit")}
        wrong = sorted(m for m in deps if not _is_pipeline(m) and m != "dpkit"
                       and not m.startswith(PIPELINE_MAY_IMPORT))
        if wrong:
            bad[_module_name(path)] = wrong
    assert not bad, f"dpkit.pipeline imports above its layer: {bad}"


def test_the_pipeline_face_has_no_logic() -> None:
    path = PACKAGE / "pipeline" / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defs = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert not defs, f"pipeline/__init__.py defines {defs}"
