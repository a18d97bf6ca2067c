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
