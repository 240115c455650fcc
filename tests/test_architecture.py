"""The house rules that keep the layers and the modules in shape (README "Architecture").

- The import contracts in pyproject.toml ([tool.importlinter]) hold: `lint-imports`.
- No function is longer than 110 lines and no class longer than 300, migrations apart:
  a module that grows a second job is split instead.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "loyaltyctl"
MAX_FUNCTION_LINES = 110
MAX_CLASS_LINES = 300


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _oversized(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            limit = MAX_FUNCTION_LINES
        elif isinstance(node, ast.ClassDef):
            limit = MAX_CLASS_LINES
        else:
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        length = node.end_lineno - first + 1
        if length > limit:
            where = path.relative_to(PACKAGE.parent)
            found.append(f"{where}:{node.lineno} {node.name}: {length} lines (limit {limit})")
    return found


def test_no_function_or_class_outgrows_its_limit():
    assert [problem for path in _sources() for problem in _oversized(path)] == []


def test_the_size_check_sees_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    path = PACKAGE / "__size_probe__.py"  # inside the package, for relative_to
    try:
        path.write_text(f"def long():\n{body}\n", encoding="utf-8")
        assert len(_oversized(path)) == 1
    finally:
        path.unlink()


def test_the_layers_hold():
    command = shutil.which("lint-imports", path=os.path.dirname(sys.executable))
    assert command, "import-linter is part of the test extra: pip install -e '.[test]'"
    result = subprocess.run(
        [command, "--no-cache", "--no-logo"],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
