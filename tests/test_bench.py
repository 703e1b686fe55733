"""micrograd-fast-bench runs, checks engines before timing them and names missing peers.

Tiny sizes only; nothing here asserts a speed.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import textwrap

import pytest

from micrograd_fast import _bench_report, _peers, bench
from micrograd_fast import _workloads as w
from micrograd_fast import nn

from helpers import train_moons

TINY = ["--size", "0.001", "--repeat", "1", "--no-progress"]
COMPILED_BUILT = importlib.util.find_spec("micrograd_fast._engine") is not None


def run_bench(*args, pythonpath=None):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "micrograd_fast.bench", *TINY, *args],
                          capture_output=True, text=True, timeout=120, env=env,
                          cwd=tempfile.gettempdir())  # not a source checkout: see helpers.run_python


def test_every_row_and_cell(tmp_path):
    out = tmp_path / "run.json"
    done = run_bench("--engines", "floats,pure,compiled", "--json", str(out))
    assert done.returncode == 0, done.stderr
    run = json.loads(out.read_text())
    assert [row["id"] for row in run["rows"]] == ["W1", "W2", "W3", "W4off", "W4on", "W4Foff",
                                                  "W4Fon", "W4Roff", "W4Ron", "W5"]
    assert not run["mismatches"] and not run["errors"]
    engines = ["floats", "pure"] + (["compiled"] if COMPILED_BUILT else [])
    for row in run["rows"]:
        for engine in engines:
            applies = _bench_report.ROWS[row["id"]].workload in _peers.workloads_of(engine)
            assert isinstance(row["cells"][engine], dict) == applies, (row["id"], engine)
        if COMPILED_BUILT:
            assert row["speedups"]["compiled/pure"] > 0
        assert row["label"] in done.stdout
    assert "python:" in done.stdout and "versions:" in done.stdout


BROKEN_ENGINE = """
    import micrograd_fast.pure as pure

    class Value(pure.Value):
        # a product that is off by a hair: every workload multiplies a leaf
        def __mul__(self, other):
            return pure.Value.__mul__(self, other) * 1.0000001
        __rmul__ = __mul__
"""


def test_a_wrong_engine_is_caught_and_not_timed(tmp_path):
    (tmp_path / "broken_engine.py").write_text(textwrap.dedent(BROKEN_ENGINE))
    out = tmp_path / "run.json"
    done = run_bench("--engines", "pure,broken_engine", "--only", "W1,W3", "--json", str(out),
                     pythonpath=tmp_path)
    assert done.returncode == 1, done.stderr
    run = json.loads(out.read_text())
    assert [m.split(":")[0] for m in run["mismatches"]] == [f"broken_engine W{i}" for i in range(1, 6)]
    assert "MISMATCH: broken_engine" in done.stderr
    assert all(row["cells"]["broken_engine"] == "MISMATCH" for row in run["rows"])
    assert all(isinstance(row["cells"]["pure"], dict) for row in run["rows"])


def test_a_mismatching_worker_result_stops_the_timing(monkeypatch):
    calls = []

    def fake_worker(engine, worker_args):
        calls.append((engine, worker_args[0]))
        if worker_args == ["--check"]:
            return {"checks": {"W1": [[1.0, 2.0 if engine == "pure" else 2.0 + 1e-9]]}}
        return {"results": {"W1": {"samples": [1000], "per": 10}}}

    monkeypatch.setattr(bench, "run_worker", fake_worker)
    args = bench.parse_args(["--engines", "pure,compiled", "--only", "W1", "--repeat", "1"])
    run = bench.run_benchmarks(args, bench.NoProgress())
    assert ("compiled", "--time") not in calls and ("pure", "--time") in calls
    assert run["rows"][0]["cells"]["compiled"] == "MISMATCH"
    assert run["rows"][0]["cells"]["pure"]["median"] == 100.0
    assert "MISMATCH (not timed): compiled W1" in bench.report.text(run)


def test_missing_peers_are_named_in_one_line(tmp_path):
    for peer in ("micrograd", "torch"):
        (tmp_path / peer).mkdir()
        (tmp_path / peer / "__init__.py").write_text(f"raise ImportError('no {peer} here')\n")
    done = run_bench("--engines", "pure,micrograd,torch", "--only", "W1", pythonpath=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "no micrograd here" in line]
    assert len(lines) == 1 and "no torch here" in lines[0] and lines[0].startswith("Not installed")
    assert "Traceback" not in done.stdout + done.stderr
    (head,) = [line for line in done.stdout.splitlines() if line.startswith("workload")]
    assert head.split() == ["workload", "pure"]


def test_replayed_training_is_the_tests_replayed_loop(engine):
    from helpers import train_moons_replayed
    steps, points = 3, 20
    losses, params = train_moons_replayed(nn, engine.Value, engine.Graph, steps=steps,
                                          n_samples=points)
    backend = _peers.engine_backend(engine)
    X, y = w.moons(points)
    training = w.ReplayedTraining(backend, w.new_model(backend, fused=True), X, y)
    assert [training.step(k, lr_steps=steps).data for k in range(steps)] == losses
    assert [(p.data, p.grad) for p in training.model.parameters()] == params


def test_training_step_is_the_tests_training_loop(engine):
    steps, points = 4, 30
    losses, params = train_moons(nn, engine.Value, steps=steps, n_samples=points, fused=False)
    backend = _peers.engine_backend(engine)
    X, y = w.moons(points)
    model = w.new_model(backend)
    assert [w.training_step(backend, model, X, y, k, lr_steps=steps).data
            for k in range(steps)] == losses
    assert [(p.data, p.grad) for p in model.parameters()] == params


def test_only_w4_means_all_of_its_rows():
    assert bench.parse_args(["--only", "W4,W1"]).only == ["W4off", "W4on", "W4Foff", "W4Fon",
                                                          "W4Roff", "W4Ron", "W1"]
    assert bench.parse_args(["--only", "W4R"]).only == ["W4Roff", "W4Ron"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--only", "W9"])


def test_plot_without_matplotlib_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    assert "pip install 'micrograd_fast[plot]'" in _bench_report.plot({"rows": []}, "x.png")
