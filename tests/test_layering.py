"""The layering (pyproject.toml [tool.importlinter]; docs/architecture.md) holds, and the check
fails on an upward import, including one inside a function."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=src,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_layering_holds():
    result = _lint(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "module, line",
    [
        ("cases/engine.py", "def _upward():\n    from tousu.clocks.services import sweep\n"),
        ("processes/conditions.py", "from tousu.cases.models import Complaint\n"),
        ("workdays/calendar.py", "def _upward():\n    import tousu.accounts.models\n"),
    ],
)
def test_an_upward_import_fails_the_check(tmp_path, module, line):
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "tousu",
        src / "tousu",
        ignore=shutil.ignore_patterns("__pycache__", "static", "templates", "migrations"),
    )
    with open(src / "tousu" / module, "a", encoding="utf-8") as fh:
        fh.write("\n\n" + line)
    result = _lint(src)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
