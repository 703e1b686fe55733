"""examples/*.ipynb: each notebook runs in a real Jupyter kernel and shows what it says it shows.

The kernel is this interpreter's (ipykernel), with this process's environment, so the notebooks
run on the engine the suite runs on (MICROGRAD_FAST_PURE=1 gives the pure one). Their run times
are listed under "measured figures".
"""

import pathlib
import re
import shutil
import time

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run_notebook(name, tmp_path, figures):
    book = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    assert not any(cell.get("outputs") for cell in book.cells), f"{name}.ipynb is stored with outputs"
    start = time.perf_counter()
    nbclient.NotebookClient(book, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    figures.add(f"notebook {name}.ipynb", f"{time.perf_counter() - start:.1f} s to execute")
    outputs = [out for cell in book.cells for out in cell.get("outputs", [])]
    text = "".join(out.get("text", "") for out in outputs if out.get("output_type") == "stream")
    kinds = {kind for out in outputs for kind in out.get("data", {})}
    return text, kinds


def number_after(label, text):
    match = re.search(rf"{label}\s+(-?[0-9.]+)", text)
    assert match, f"no {label!r} in the notebook's output:\n{text}"
    return float(match.group(1))


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="its picture needs graphviz's dot program (apt install graphviz)")
def test_lecture_notebook(tmp_path, figures):
    text, kinds = run_notebook("lecture", tmp_path, figures)
    assert "image/svg+xml" in kinds or "image/png" in kinds  # the neuron's picture
    assert "nudged:   dL/da = 6.0" in text and "backward: dL/da = 6.0  dL/db = -4.0  dL/dc = -2.0" in text
    assert "o = 0.7071, do/dx1 = -1.5000, do/dw1 = 1.0000" in text
    assert "TanhNeuron(3)" in text and "LinearNeuron(4)" in text
    assert number_after("step  0  loss", text) > 1.0
    assert number_after("final loss", text) < 1e-3


def test_moons_notebook(tmp_path, figures):
    text, kinds = run_notebook("moons", tmp_path, figures)
    assert "image/png" in kinds  # the decision boundary
    assert number_after("final loss", text) < 0.05
    assert re.search(r"final loss [0-9.]+  accuracy 100%", text), text


def test_speed_notebook(tmp_path, figures):
    text, _ = run_notebook("speed", tmp_path, figures)
    rows = {}
    for line in text.splitlines():
        match = re.match(r"(micrograd.*?)\s+([0-9.]+)\s+([0-9.]+)x\s+([0-9.]+)$", line)
        if match:
            rows[match.group(1)] = (float(match.group(2)), match.group(4))
    assert list(rows) == ["micrograd", "micrograd_fast, micrograd's graph",
                          "micrograd_fast, fused neuron", "micrograd_fast, replayed graph"]
    assert len({loss for _, loss in rows.values()}) == 1  # the same loss, every digit printed
    # measured live on a shared machine: only an order that holds by a wide margin is checked
    assert rows["micrograd_fast, replayed graph"][0] < rows["micrograd_fast, micrograd's graph"][0]
    figures.add("notebook speed.ipynb, ms per step",
                ", ".join(f"{name}: {ms:.3g}" for name, (ms, _) in rows.items()))
