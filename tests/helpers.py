"""Programs that the tests run on each engine, and a subprocess runner."""

import os
import subprocess
import sys
import tempfile
import textwrap

from micrograd_fast import training
from micrograd_fast.bench.workloads import watch


def run_python(code, timeout=300, env=None, args=None):
    """Run ``code`` (or ``python ARGS`` when given) in a fresh interpreter: a crash fails a
    test instead of the run.

    It runs in the temporary folder: ``python -c`` and ``-m`` put the current folder first
    on sys.path, and a source checkout there holds the package without its built extension.
    """
    environ = dict(os.environ, **(env or {}))
    command = [sys.executable, *(args if args is not None else ["-c", textwrap.dedent(code)])]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environ,
                          cwd=tempfile.gettempdir())


def run_on(module, program):
    """Run ``program`` with ``V`` bound to ``module``'s Value (and ``E`` to the module) in a
    child process; return what it printed. A crash or an exception fails the test."""
    code = f"import {module} as E\nV = E.Value\n{SHOW}\n{program}"
    done = run_python(code, timeout=600)
    assert done.returncode == 0, f"{module}: exit {done.returncode}\n{done.stderr[-3000:]}"
    return done.stdout


SHOW = """
def show(*numbers):  # micrograd's grads start as the int 0: print every number as a float
    print(*(float(n) for n in numbers))
"""


def alive(nodes):
    """A function telling, for each node, whether it still lives (a Value has no weak
    references: each node is watched through a probe in its __dict__)."""
    refs = [watch(v) for v in nodes]
    return lambda: [ref() is not None for ref in refs]


def karpathy_sanity(Value):
    """micrograd's test_sanity_check: y = -20, dy/dx = 46."""
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return x, y


def karpathy_more_ops(Value):
    """micrograd's test_more_ops: g = 24.70408163265306, dg/da = 138.83..., dg/db = 645.57..."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return a, b, g


def train_moons(nn, Value, steps=5, n_samples=40, seed=1337, **model_options):
    """micrograd's demo.ipynb training loop (micrograd_fast.training), the graph built
    again each step; returns the losses and each parameter's (data, grad)."""
    return _train(nn, Value, None, steps, n_samples, seed, model_options)


def train_moons_replayed(nn, Value, Graph, steps=5, n_samples=40, seed=1337, **model_options):
    """The same training, the graph built once and replayed: inputs are set, not rebuilt."""
    return _train(nn, Value, Graph, steps, n_samples, seed, model_options)


def _train(nn, Value, Graph, steps, n_samples, seed, model_options):
    X, y = training.moons(n_samples, seed)
    model = training.new_mlp(nn.MLP, seed, value_type=Value, **model_options)
    run = training.Training(model, X, y, steps, Value, Graph)
    losses = [run.step(k)[0].data for k in range(steps)]
    return losses, [(p.data, p.grad) for p in model.parameters()]


def each_kernel(engine):
    """Runs a for loop's body with each of the compiled tape's kernels (src_pyx/
    dot_kernels.h): the AVX ones where the processor has AVX, then the baseline's (SSE2
    on x86); yields which. The pure engine has none: once."""
    if not hasattr(engine, "_use_wide_kernels"):
        yield "pure"
        return
    before = engine._use_wide_kernels(True)
    try:
        for wide in (True, False):
            engine._use_wide_kernels(wide)
            yield "avx" if wide else "baseline"
    finally:
        engine._use_wide_kernels(before)
