"""micrograd-fast-bench: the benchmark table, compiled vs pure vs micrograd vs PyTorch vs numpy.

    micrograd-fast-bench --quick                  # about 30 s
    micrograd-fast-bench --wide                   # every cell's spread, both speed-ups
    micrograd-fast-bench --markdown benchmarks/RESULTS.md --plot benchmarks/speedup.png

Runs the rows of ``workloads.ROWS`` on every engine of ``peers.PEERS`` that is
importable, each engine in its own subprocess (``--worker``, see ``worker``). Before
anything is timed, every engine's outputs and gradients on a small seeded instance
are checked against the pure engine's; a mismatch is reported loudly and that cell
is not timed. Standard library only: tqdm, matplotlib, numpy and torch are imported
lazily, when present.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from ..demo import plot_path_problem
from . import chart, peers, report, worker
from .checks import mismatch
from .progress import make_progress
from .workloads import BY_ID, ROWS, Sizes

QUICK_SIZE = 0.1
QUICK_REPEAT = 3
DEFAULT_REPEAT = 5
MEMORY_RUNS = 3  # W5 is measured once per fresh process; --quick uses one
WORKER_TIMEOUT = 3600


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="micrograd-fast-bench",
        description="Time the workloads W1..W5 on micrograd_fast's engines and its peers; "
                    "print one table (100 columns; --wide for all of it).")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes and few repeats (--size {QUICK_SIZE} --repeat "
                             f"{QUICK_REPEAT}): about 30 s")
    parser.add_argument("--size", type=float, help="scale factor on every workload size (default 1)")
    parser.add_argument("--repeat", type=int, help=f"timed runs per cell (default {DEFAULT_REPEAT})")
    parser.add_argument("--only", type=_row_list, default=list(ROWS),
                        help="comma-separated workloads, e.g. W1,W2 (W4 is all of its rows, "
                             "W4F, W4R and W4B included)")
    parser.add_argument("--engines", type=_name_list, default=list(peers.PEERS),
                        help="comma-separated engines: " + ",".join(peers.PEERS) +
                             ", or the module name of any engine with a Value (default: all)")
    parser.add_argument("--wide", action="store_true",
                        help="print the full table: every cell's spread, both speed-ups, "
                             "the long footnotes")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="also write the full table as Markdown")
    parser.add_argument("--plot", metavar="PATH",
                        help="also draw the speed-ups over micrograd (needs matplotlib)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress display (there is none when stderr is not a terminal)")
    internal = parser.add_argument_group("worker (internal: one engine in its own process)")
    internal.add_argument("--worker", metavar="ENGINE", help=argparse.SUPPRESS)
    internal.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    internal.add_argument("--time", type=_row_list, default=[], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.size is None:
        args.size = QUICK_SIZE if args.quick else 1.0
    if args.repeat is None:
        args.repeat = QUICK_REPEAT if args.quick else DEFAULT_REPEAT
    if args.size <= 0 or args.repeat < 1:
        parser.error("--size must be > 0 and --repeat >= 1")
    if args.plot and not args.worker:
        problem = plot_path_problem(args.plot)
        if problem:
            parser.error(problem)
    return args


def _name_list(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def _row_list(text):
    """Workload names to row ids: "W4" means every W4 row (W4F, W4R and W4B too), "W4F" its two."""
    rows = []
    for name in _name_list(text):
        matches = [row for row in ROWS if row == name or ROWS[row].workload.id.startswith(name)]
        if not matches:
            raise argparse.ArgumentTypeError(f"unknown workload {name!r}: use W1..W5")
        rows += [row for row in matches if row not in rows]
    return rows


# -- running the workers -------------------------------------------------------

def run_worker(engine, worker_args):
    """One worker process's JSON answer, or ``{"error": ...}`` when it failed."""
    command = [sys.executable, "-m", "micrograd_fast.bench", "--worker", engine, *worker_args]
    try:
        # not in the current folder: `python -m` puts it first on sys.path, and in a source
        # checkout (where the README runs this) it holds the package without its extension
        done = subprocess.run(command, capture_output=True, text=True, timeout=WORKER_TIMEOUT,
                              cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        return {"error": f"no answer after {WORKER_TIMEOUT} s"}
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        return {"error": lines[-1]}
    return json.loads(done.stdout)


def run_workers(jobs, progress, parallel):
    """Each ``(engine, worker_args, what)`` job's answer, in order; ``parallel`` runs them
    side by side (for the checks and the memory runs: nothing is timed there)."""
    def one(job):
        engine, worker_args, what = job
        if not parallel:
            progress.show(f"{engine}: {what}")
        answer = run_worker(engine, worker_args)
        progress.advance()
        return answer

    if not parallel:
        return [one(job) for job in jobs]
    if jobs:
        progress.show(f"{jobs[0][2]}, {os.cpu_count()} at a time")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(one, jobs))


def run_benchmarks(args, progress):
    """Check every engine, then time the cells that passed; the run as a JSON-ready dict."""
    engines = list(dict.fromkeys(["pure", *args.engines]))  # pure is the reference: always run
    sizes = Sizes().scaled(args.size)
    memory_runs = 1 if args.quick else MEMORY_RUNS
    run = report.new_run(args, sizes, engines, memory_runs)
    progress.total(len(engines) * (2 + memory_runs))

    # 1. every engine's outputs and gradients on the small instance
    checks = {}
    answers = run_workers([(e, ["--check"], "checking") for e in engines], progress, parallel=True)
    for engine, answer in zip(engines, answers):
        if "checks" in answer:
            checks[engine] = answer["checks"]
            run["about"][engine] = answer["about"]
            continue
        progress.advance(1 + memory_runs)  # nothing more to run for this engine
        if "missing" in answer:
            run["missing"][engine] = answer["missing"]
        else:
            run["errors"].append(f"{engine} check: {answer['error']}")
    if "pure" not in checks:
        raise SystemExit("micrograd-fast-bench: the pure engine, the reference, did not run: "
                         + "; ".join(run["errors"]))
    for engine, engine_checks in checks.items():
        for workload, vector in engine_checks.items():
            # another way to run a workload gives that workload's numbers (W4B: W4's)
            reference = checks["pure"].get(workload) or checks["pure"][BY_ID[workload].same_as]
            if engine == "floats":  # outputs only: floats have no gradients
                reference = reference[:len(vector)]
            problem = mismatch(reference, vector)
            if problem:
                run["mismatches"].append(f"{engine} {workload}: {problem}")
                progress.note(f"MISMATCH: {engine} gives other numbers than the pure engine on "
                              f"{workload} ({problem}); not timed")

    # 2. the timings, one engine at a time; 3. memory, in fresh processes
    sized = ["--size", repr(args.size), "--repeat", str(args.repeat)]
    timing, memory = [], []
    for engine in checks:
        timed = [row for row in args.only if report.cell_status(run, engine, row) == "time"]
        speed_rows = [row for row in timed if not ROWS[row].workload.memory]
        memory_rows = [row for row in timed if ROWS[row].workload.memory]
        if speed_rows:
            timing.append((engine, ["--time", ",".join(speed_rows), *sized], "timing"))
        else:
            progress.advance()
        for row in memory_rows:  # each in fresh processes
            memory += [(engine, ["--time", row, *sized], "measuring memory")] * memory_runs
        if not memory_rows:
            progress.advance(memory_runs)
    for job, answer in zip(timing, run_workers(timing, progress, parallel=False)):
        report.add_results(run, job[0], answer)
    for job, answer in zip(memory, run_workers(memory, progress, parallel=True)):
        report.add_results(run, job[0], answer)
    progress.close()
    report.summarize(run)
    return run


# -- main ------------------------------------------------------------------------

def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        sizes = Sizes().scaled(args.size)
        return worker.run(args.worker, args.check, args.time, sizes, args.repeat)

    run = run_benchmarks(args, make_progress(not args.no_progress))
    print(report.wide_text(run) if args.wide else report.text(run))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(run, out, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(report.markdown(run, args.markdown, args.plot))
    if args.plot:
        problem = chart.plot(run, args.plot)
        if problem:
            print(f"micrograd-fast-bench: no plot: {problem}", file=sys.stderr)
            return 1
    return 1 if run["mismatches"] or run["errors"] else 0
