"""Every Python example in the README runs as written, on the default engine."""

import pathlib
import re

import pytest

from helpers import run_python

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S) if README.exists() else []


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path):
    # in a fresh interpreter and a scratch folder: examples may install hooks or write files
    result = run_python(f"import os; os.chdir({str(tmp_path)!r})\n" + BLOCKS[index])
    assert result.returncode == 0, f"README block {index}:\n{BLOCKS[index]}\n{result.stderr}"
