"""The rows of ``micrograd-fast-bench`` under pytest-benchmark, read from its one table.

    pytest benchmarks --benchmark-only --benchmark-group-by=group

Every row of ``micrograd_fast.bench.workloads.ROWS`` runs on micrograd_fast's two
engines where it applies; numpy and PyTorch run the training as matrices over the
batch (skipped when not installed). A group holds one row, except the training rows:
one group per garbage collector setting, so that the graph rebuilt, fused, replayed
and the matrices sit side by side. The sizes are a quarter of the bench's, so the
suite takes about a minute; pytest-benchmark times whole calls: divide by
``extra_info["per"]`` for a time per op or per node. W5 also records the resident
bytes per node, measured by the bench's worker in a fresh process.
"""

import json
import subprocess
import sys
import tempfile
from dataclasses import asdict

import pytest

from micrograd_fast.bench import peers, report
from micrograd_fast.bench.workloads import ROWS, MatrixTraining, Sizes, runs_on

SIZE = 0.25
SIZES = Sizes().scaled(SIZE)
ROUNDS = 10
ENGINES = ("compiled", "pure")


def engines_of(workload):
    """micrograd_fast's engines; on the batch as matrices, numpy and PyTorch."""
    if workload.job is MatrixTraining:
        return workload.engines
    return [engine for engine in ENGINES if runs_on(workload, engine)]


def group(row):
    if len(row.workload.collector) > 1:
        return report.section(row.id)
    return f"{row.workload.id} {row.workload.title.format(**asdict(SIZES))}"


def case(row, engine):
    marks = [pytest.mark.benchmark(group=group(row), disable_gc=not row.collector_on)]
    if engine == "compiled":
        marks.append(pytest.mark.c_extension)
    return pytest.param(row, engine, id=f"{row.id}-{engine}", marks=marks)


@pytest.mark.parametrize("row, engine", [case(row, engine) for row in ROWS.values()
                                         for engine in engines_of(row.workload)])
def test_row(benchmark, row, engine):
    try:
        backend = peers.load(engine)
    except ImportError as error:
        if engine in ("compiled", "pure"):
            raise  # a missing extension is an error, unless --no-c-extensions skips it
        pytest.skip(f"{engine} is not installed ({error})")
    job = row.workload.job(backend, SIZES, row.collector_on)
    benchmark.extra_info["per"] = job.per
    benchmark.pedantic(job.run, setup=job.setup, teardown=job.teardown, rounds=ROUNDS,
                       warmup_rounds=1)
    if row.workload.memory:
        benchmark.extra_info["bytes_per_node"] = bytes_per_node(engine, row.id)


def bytes_per_node(engine, row):
    """The resident growth per node, measured by the bench's worker in a fresh process."""
    done = subprocess.run([sys.executable, "-m", "micrograd_fast.bench", "--worker", engine,
                           "--time", row, "--size", str(SIZE)],
                          capture_output=True, text=True, check=True,
                          cwd=tempfile.gettempdir())  # a source checkout would shadow the build
    result = json.loads(done.stdout)["results"][row]
    return result["samples"][0] / result["per"]
