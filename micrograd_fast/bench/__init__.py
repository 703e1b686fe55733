"""The benchmarks: ``micrograd-fast-bench`` (``cli``) and the pieces it runs.

- ``workloads``: the workloads W1..W5 and ``WORKLOADS``, their one table (read by the
  command line, the report and the pytest-benchmark suite in ``benchmarks/``);
- ``peers``: the engines compared, each behind a small adapter; ``batched``: the
  training as matrices over the batch (numpy, PyTorch);
- ``checks``: every engine's numbers compared before anything is timed;
- ``worker``: one engine's measurements, in a process of its own;
- ``report``, ``chart``, ``progress``: the table, the chart, the progress display.

Nothing here is imported by ``import micrograd_fast``.
"""

from .cli import main

__all__ = ["main"]
