"""The stubs: ``mypy --strict`` accepts a typed user program and catches a wrong one."""

import pathlib
import subprocess
import sys
import tempfile

import pytest

pytest.importorskip("mypy")

ROOT = pathlib.Path(__file__).parent.parent
CACHE = pathlib.Path(tempfile.gettempdir()) / "micrograd_fast_mypy_cache"


def mypy_strict(path):
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(CACHE), str(path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_typed_user_program_passes_mypy_strict():
    result = mypy_strict(ROOT / "tests" / "data" / "typed_user.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_sees_the_value_api(tmp_path):
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "from micrograd_fast.engine import Value\n"
        "v = Value(1.0) + 'a'\n"
        "s: str = Value(2.0).relu().data\n"
        "Value(3.0).backwards()\n")
    result = mypy_strict(wrong)
    assert result.returncode == 1
    assert [line.split(":")[1] for line in result.stdout.splitlines() if ": error:" in line] == ["2", "3", "4"]
