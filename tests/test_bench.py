"""micrograd-fast-bench runs, checks engines before timing them, names missing peers, and
prints a table for people.

Tiny sizes only; nothing here asserts a speed.
"""

import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import types

import pytest

from micrograd_fast import pure
from micrograd_fast.bench import batched, chart, checks, cli, peers, progress, report, workloads
from micrograd_fast.bench.workloads import ROWS, runs_on

TINY = ["--size", "0.001", "--repeat", "1", "--no-progress"]
COMPILED_BUILT = importlib.util.find_spec("micrograd_fast._engine") is not None
HAS_NUMPY = importlib.util.find_spec("numpy") is not None


def run_bench(*args, pythonpath=None):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "micrograd_fast.bench", *args],
                          capture_output=True, text=True, timeout=120, env=env,
                          cwd=tempfile.gettempdir())  # not a source checkout: see helpers.run_python


def test_every_row_and_cell(tmp_path):
    out = tmp_path / "run.json"
    done = run_bench(*TINY, "--engines", "floats,pure,compiled,numpy", "--json", str(out))
    assert done.returncode == 0, done.stderr
    run = json.loads(out.read_text())
    assert [row["id"] for row in run["rows"]] == [
        "W1", "W2", "W3", "W4off", "W4on", "W4Foff", "W4Fon", "W4Roff", "W4Ron", "W4Boff", "W4Bon",
        "W5"]
    assert not run["mismatches"] and not run["errors"]
    engines = ["floats", "pure"] + (["compiled"] if COMPILED_BUILT else []) + \
        (["numpy"] if HAS_NUMPY else [])
    for row in run["rows"]:
        for engine in engines:
            applies = runs_on(ROWS[row["id"]].workload, engine)
            assert isinstance(row["cells"][engine], dict) == applies, (row["id"], engine)
        if COMPILED_BUILT and row["id"][:3] != "W4B":
            assert row["speedups"]["compiled/pure"] > 0
        assert row["label"] in done.stdout
    assert "python:" in done.stdout and "engines:" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= report.WIDTH
    if COMPILED_BUILT:  # how it was built, never "Cython not installed"
        assert "compiled (built with Cython " in done.stdout or \
            "compiled (Cython version not recorded)" in done.stdout


def test_wide_shows_the_spread_and_both_speedups():
    done = run_bench("--size", "0.001", "--repeat", "3", "--no-progress", "--engines",
                     "pure,compiled", "--only", "W1", "--wide")
    assert done.returncode == 0, done.stderr
    head = next(line for line in done.stdout.splitlines() if line.startswith("workload"))
    assert head.split()[1:] == ["pure"] + (["compiled", "compiled/pure"] if COMPILED_BUILT else [])
    assert "W1 build a graph" in done.stdout and "[" in done.stdout and "(1) Cells:" in done.stdout


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
    done = run_bench(*TINY, "--engines", "pure,broken_engine", "--only", "W1,W3", "--json",
                     str(out), pythonpath=tmp_path)
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
            return {"checks": {"W1": [[1.0, 2.0 if engine == "pure" else 2.0 + 1e-9]]},
                    "about": ""}
        return {"results": {"W1": {"samples": [1000], "per": 10}}}

    monkeypatch.setattr(cli, "run_worker", fake_worker)
    args = cli.parse_args(["--engines", "pure,compiled", "--only", "W1", "--repeat", "1"])
    run = cli.run_benchmarks(args, progress.NoProgress())
    assert ("compiled", "--time") not in calls and ("pure", "--time") in calls
    assert run["rows"][0]["cells"]["compiled"] == "MISMATCH"
    assert run["rows"][0]["cells"]["pure"]["median"] == 100.0
    assert "MISMATCH (not timed): compiled W1" in report.text(run)


def test_missing_peers_are_named_in_one_line(tmp_path):
    for peer in ("micrograd", "torch"):
        (tmp_path / peer).mkdir()
        (tmp_path / peer / "__init__.py").write_text(f"raise ImportError('no {peer} here')\n")
    done = run_bench(*TINY, "--engines", "pure,micrograd,torch", "--only", "W1",
                     pythonpath=tmp_path)
    assert done.returncode == 0, done.stderr
    words = " ".join(done.stdout.split())  # the line is wrapped to fit the table's width
    assert words.count("no micrograd here") == 1
    assert ("Not installed, not in the table: micrograd (ImportError: no micrograd here); "
            "torch (ImportError: no torch here)") in words
    assert "Traceback" not in done.stdout + done.stderr
    (head,) = [line for line in done.stdout.splitlines() if line.startswith("1 run each")]
    assert head.split()[3:] == ["pure"]


def fake_run(engines, repeat=5):
    """A summarized run of the full sizes, every cell as wide as numbers get."""
    args = cli.parse_args(["--engines", ",".join(engines), "--repeat", str(repeat)])
    run = report.new_run(args, workloads.Sizes(), engines, memory_runs=3)
    run["header"]["cpu"] = "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz with a long name"
    run["about"] = {"floats": "", "pure": "", "compiled": "(Cython version not recorded)",
                    "micrograd": "0.1.0",
                    "torch": "2.13.0+cpu", "numpy": "2.4.6"}
    for row in args.only:
        for engine in engines:
            if runs_on(ROWS[row].workload, engine):
                slow = engine in ("pure", "micrograd", "torch")
                run["samples"][row][engine] = [99_999.0 if slow else 0.0123] * repeat
    report.summarize(run)
    return run


def test_the_default_table_fits_100_columns_in_plain_words():
    run = fake_run(list(peers.PEERS))
    run["missing"]["other"] = "ModuleNotFoundError: No module named 'other', " * 4
    lines = report.text(run).splitlines()
    assert max(map(len, lines)) <= 100, max(lines, key=len)
    text = "\n".join(lines)
    assert "graph built once and replayed" in text and "garbage collector on (as users run it)" in text
    for jargon in ("W4R", "W4F", "W4B", "Cython not installed"):
        assert jargon not in text
    assert text.count("collector") == text.lower().count("garbage collector")
    assert max(map(len, report.wide_text(run).splitlines())) > 100  # the full table stays wide


def test_progress_goes_to_a_terminal_only(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert type(progress.make_progress(True, io.StringIO())) is progress.NoProgress
    assert type(progress.make_progress(False, Terminal())) is progress.NoProgress
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert type(progress.make_progress(True, Terminal())) is progress.PlainProgress


def test_no_progress_into_a_pipe():
    done = run_bench("--size", "0.001", "--repeat", "1", "--engines", "pure", "--only", "W1")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no bar, no \r, no step lines


def test_the_compiled_engine_says_how_it_was_built():
    def fake_module(**attributes):
        return types.SimpleNamespace(__name__="micrograd_fast._engine", Value=pure.Value,
                                     **attributes)

    assert peers.engine_backend(fake_module(CYTHON_VERSION="3.1.2")).about == \
        "(built with Cython 3.1.2)"
    assert peers.engine_backend(fake_module()).about == "(Cython version not recorded)"


def test_w1_calls_every_op_as_users_write_it():
    calls = []

    class Number:
        def __init__(self, x):
            self.x = x

        def __add__(self, other):
            return Number(self.x + other.x)

        def __mul__(self, other):
            return Number(self.x * (other.x if isinstance(other, Number) else other))

        def __pow__(self, k):
            return Number(self.x ** k)

        def relu(self):
            calls.append(self)
            return Number(max(self.x, 0.0))

    leaf_values, chains = workloads.forward_plan(workloads.Sizes(chains=5, chain_steps=20))
    workloads.build_forward([Number(v) for v in leaf_values], chains)
    relus = sum(op == 3 for _, steps in chains for op, _ in steps)
    assert relus > 0 and len(calls) == relus


def test_the_training_rows_give_the_same_numbers_bit_for_bit(engine):
    backend = peers.engine_backend(engine)
    sizes = workloads.Sizes(points=12)
    rebuilt, fused, replayed = (job(backend, sizes).checksums() for job in (
        workloads.Training, workloads.FusedTraining, workloads.ReplayedTraining))
    assert rebuilt == fused == replayed


def test_numpy_and_torch_give_the_pure_engines_losses():
    pytest.importorskip("numpy")
    sizes = workloads.Sizes(points=20)
    expected = workloads.Training(peers.load("pure"), sizes).checksums()
    names = ["numpy"] + (["torch"] if importlib.util.find_spec("torch") else [])
    for name in names:
        got = workloads.MatrixTraining(peers.load(name), sizes).checksums()
        assert checks.mismatch(expected, got) is None, name
        assert got[0] == pytest.approx(expected[0], rel=1e-12, abs=0)


def test_a_wrong_numpy_training_is_caught(monkeypatch):
    pytest.importorskip("numpy")
    sizes = workloads.Sizes(points=20)
    expected = workloads.Training(peers.load("pure"), sizes).checksums()
    monkeypatch.setattr(batched.training, "L2", 1.0001e-4)
    got = workloads.MatrixTraining(peers.load("numpy"), sizes).checksums()
    assert checks.mismatch(expected, got)


def test_only_w4_means_all_of_its_rows():
    assert cli.parse_args(["--only", "W4,W1"]).only == ["W4off", "W4on", "W4Foff", "W4Fon",
                                                        "W4Roff", "W4Ron", "W4Boff", "W4Bon", "W1"]
    assert cli.parse_args(["--only", "W4R"]).only == ["W4Roff", "W4Ron"]
    with pytest.raises(SystemExit):
        cli.parse_args(["--only", "W9"])


def test_plot_without_matplotlib_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    assert "pip install matplotlib" in chart.plot({"rows": []}, "x.png")
    with pytest.raises(SystemExit):
        cli.parse_args(["--plot", "x.png"])  # before anything runs


def test_plot_into_a_missing_folder_fails_at_once(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--plot", str(tmp_path / "no" / "x.png")])
    assert "there is no folder" in capsys.readouterr().err


def test_the_chart_shows_the_matrix_rows(tmp_path):
    pytest.importorskip("matplotlib")
    run = fake_run(list(peers.PEERS))
    assert chart.plot(run, str(tmp_path / "speedup.png")) is None
    assert (tmp_path / "speedup.png").read_bytes()[:4] == b"\x89PNG"
