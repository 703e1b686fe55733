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


ROOT = README.parent
DOCUMENTS = sorted(path for path in [README, *ROOT.glob("docs/*.md"), *ROOT.glob("benchmarks/*.md"),
                                     *ROOT.glob("tests/**/*.md")] if path.exists())


def _anchor(heading):
    """The anchor a heading gets on GitHub: lower case, spaces to hyphens, punctuation dropped."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_link_in_the_documents_reaches_a_file_of_the_repository(document):
    # a regenerated table once pointed at a chart by the name it was written under
    text = document.read_text()
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.*)$", text, flags=re.M)}
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, fragment = target.partition("#")
        if not path:
            assert fragment in anchors, f"{document.name}: no heading for the link #{fragment}"
            continue
        reached = (document.parent / path).resolve()
        assert reached.is_relative_to(ROOT) and reached.exists(), \
            f"{document.name} links to {target}, which is not a file of the repository"
