"""The benchmark run as data, and its table as text for people, wide text and Markdown.

A run is a JSON-ready dict (``new_run``): the header (date, machine, versions),
the samples per row and engine, what is missing or failed, and after
``summarize`` one entry per row with each cell's median and spread and the
speed-ups of the compiled engine. ``text``, ``wide_text`` and ``markdown`` only read it.
``text`` fits 100 columns: medians, one speed-up, short notes; the others show everything.
"""

import datetime
import os
import platform
import statistics
import sysconfig
import textwrap
from dataclasses import asdict

from .. import __version__
from ..engine import ENGINES
from .peers import PEERS
from .workloads import ROWS, UNITS, runs_on

WIDTH = 100  # the default table's width, in columns
REGENERATE = "micrograd-fast-bench --markdown benchmarks/RESULTS.md --plot benchmarks/speedup.png"
SPEEDUPS = {"compiled/pure": "pure", "compiled/micrograd": "micrograd"}  # column: baseline engine
COLLECTOR = {False: "garbage collector off", True: "garbage collector on (as users run it)"}

NOTES = [  # the default table's
    "Every engine ran in its own process and, before it was timed, gave the pure engine's "
    "numbers (to 1e-12). --wide or --markdown PATH: the full table, with each cell's spread.",
    "speed-up: micrograd's time over the compiled engine's (memory: its bytes over the compiled "
    "engine's); where micrograd cannot run a row, its rebuilt graph's time.",
    "Training: MLP(2, [16, 16, 1]) on {points} moons points, max-margin loss + L2, SGD. Rebuilt: "
    "micrograd's graph. One node per neuron: micrograd_fast's fused neuron (Value.dot). "
    "Replayed: micrograd_fast's Graph. As matrices: numpy and PyTorch, float64, one thread.",
    "Garbage collector off: paused while timing, each rebuilt graph freed afterwards (a "
    "replayed graph and the matrices are kept, as in a loop). On: as in a training loop, the "
    "previous step's graph is freed during the step.",
    "floats: the same arithmetic on Python floats, no graph. torch: float64 scalar tensors.",
]

FOOTNOTES = [  # the full table's
    "Cells: median over {repeat} timed runs after one warm-up, [25th-75th percentile]. W1 and W2 "
    "are per op call (each chain step, each addition of the final balanced sum), W3 per "
    "`x = x*1.0001 + 0.1` step, W4 per training step (MLP(2, [16, 16, 1]), {points} moons "
    "points), W5 resident bytes per node.",
    "Speed-ups: the baseline's median over the compiled engine's (W5: its bytes per node over "
    "the compiled engine's). On W4F, W4R and W4B (and in the chart), micrograd's baseline is its "
    "W4 row: its only way to train.",
    "Timed with time.perf_counter_ns and the garbage collector disabled, except on the training "
    "rows 'garbage collector on (as users run it)': collector on, and the previous step's graph "
    "freed inside the step. With the collector off, a rebuilt step's graph is freed and "
    "gc.collect() run after the clock stops; a replayed graph and the matrices stay, with no "
    "collection between steps. W3 includes freeing the chain, with gc.collect() when dropping it "
    "does not free it (pure and micrograd nodes sit in reference cycles).",
    "W5: growth of the resident set (/proc/self/statm) in a fresh process while the nodes fill "
    "a list allocated before the baseline, so the list itself is not counted; {memory_runs} "
    "process(es).",
    "Every engine runs in its own process. Before timing, its outputs and gradients on a small "
    "seeded instance are checked against the pure engine's: within 1e-12 of the larger of the "
    "number and the largest number of its kind (outputs, gradients).",
    "Karpathy's micrograd sorts the graph recursively: every worker runs in a thread with a "
    "512 MiB stack and sys.setrecursionlimit(10**6).",
    "floats: the same arithmetic on plain Python floats, no graph (W1, W3): the floor. torch: "
    "0-dim float64 tensors, torch.set_num_threads(1); inputs do not require grad (W4B: "
    "matrices).",
    "W4 models: micrograd's graph (a * and a + node per weight): micrograd its own nn, the "
    "others micrograd_fast.nn with fused=False. W4F: micrograd_fast.nn as users get it, each "
    "Neuron one Value.dot node (the same numbers, bit for bit). W4R: that model's graph built "
    "once and replayed each step with micrograd_fast's Graph (forward, zero_grad, backward, "
    "update), inputs set on the same leaves. W4F and W4R exist on micrograd_fast's engines only.",
    "W4B: the same training as a numpy or PyTorch user writes it, the {points} points as one "
    "matrix: the same initial weights, loss, L2 and learning rates (numpy: forward and backward "
    "by hand; PyTorch: nn.Sequential, autograd and optim.SGD), float64, one thread. Its losses, "
    "weights and gradients are checked against the pure engine's W4 to 1e-12.",
]


# -- the run as data -----------------------------------------------------------

def new_run(args, sizes, engines, memory_runs):
    return {
        "header": header(),
        "options": {"size": args.size, "repeat": args.repeat, "quick": args.quick,
                    "memory_runs": memory_runs},
        "sizes": asdict(sizes),
        "engines": engines,
        "about": {},  # engine: its version, or how it was built
        "rows_selected": list(args.only),
        "missing": {},
        "errors": [],
        "mismatches": [],  # "engine workload: what differs"
        "samples": {row: {} for row in args.only},
        "rows": [],
    }


def header():
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "compiler": (sysconfig.get_config_var("CC") or "unknown").split()[0],  # not its flags
        "micrograd_fast": __version__,
    }


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cell_status(run, engine, row):
    """"time" when this cell is to be measured, else why not."""
    workload = ROWS[row].workload
    if engine in run["missing"]:
        return "missing"
    if not runs_on(workload, engine):
        return "n/a"
    if any(m.startswith(f"{engine} {workload.id}:") for m in run["mismatches"]):
        return "MISMATCH"
    return "time"


def add_results(run, engine, answer):
    """Add one worker's samples, converted to each row's unit."""
    if "error" in answer or "missing" in answer:
        run["errors"].append(f"{engine}: {answer.get('error') or answer.get('missing')}")
        return
    for row, result in answer["results"].items():
        scale = UNITS[ROWS[row].workload.unit]
        values = [sample / result["per"] * scale for sample in result["samples"]]
        run["samples"][row].setdefault(engine, []).extend(values)


def stats(values):
    ordered = sorted(values)
    low, high = (statistics.quantiles(ordered, n=4, method="inclusive")[::2]
                 if len(ordered) > 1 else (ordered[0], ordered[0]))
    return {"median": statistics.median(ordered), "p25": low, "p75": high,
            "min": ordered[0], "max": ordered[-1], "n": len(ordered)}


def same_training(row):
    """The row of the workload that ``row``'s is another way to run (W4F, W4R, W4B: W4)."""
    row = ROWS[row]
    if not row.workload.same_as:
        return None
    return next((other.id for other in ROWS.values() if other.workload.id == row.workload.same_as
                 and other.collector_on == row.collector_on), None)


def summarize(run):
    """Fill ``run["rows"]``: each cell's statistics (or why it has none) and the speed-ups."""
    cells_of = {}
    for row, samples in run["samples"].items():
        cells = {}
        for engine in columns(run):
            status = cell_status(run, engine, row)
            if status == "time":
                cells[engine] = stats(samples[engine]) if samples.get(engine) else "error"
            else:
                cells[engine] = status
        cells_of[row] = cells
    run["rows"] = []
    for row, cells in cells_of.items():
        speedups = {}
        for column, baseline in SPEEDUPS.items():
            base, compiled = cells.get(baseline), cells.get("compiled")
            if base == "n/a" and same_training(row) in cells_of:
                base = cells_of[same_training(row)].get(baseline)
            if isinstance(base, dict) and isinstance(compiled, dict):
                speedups[column] = base["median"] / compiled["median"]
        run["rows"].append({"id": row, "label": title(run, row), "cells": cells,
                            "speedups": speedups})


def columns(run):
    """The engines shown: every one that could be imported, in the table's order."""
    known = [e for e in PEERS if e in run["engines"]]
    others = [e for e in run["engines"] if e not in PEERS]
    return [e for e in known + others if e not in run["missing"]]


def title(run, row):
    """The row's title in plain words, with the run's sizes."""
    return ROWS[row].workload.title.format(**run["sizes"])


def section(row):
    """The heading a row sits under in the default table: its unit and collector setting."""
    row = ROWS[row]
    if len(row.workload.collector) == 1:
        return row.workload.unit
    return f"{row.workload.unit}, {COLLECTOR[row.collector_on]}"


def wide_label(run, row):
    text = f"{ROWS[row].workload.id} {title(run, row)} ({ROWS[row].workload.unit})"
    return text if len(ROWS[row].workload.collector) == 1 else \
        f"{text}, {COLLECTOR[ROWS[row].collector_on]}"


# -- text and Markdown ---------------------------------------------------------

def number(x):
    """Three significant digits from 1 up (a replayed step's 0.092 ms: three decimals)."""
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if x >= 1 else f"{x:.3f}"


def short_number(x):
    """At most 5 characters: 0.22, 31.6, 18693, 123k."""
    return number(x) if x < 99_999.5 else f"{x / 1000:.0f}k"


def cell_text(cell, spread=True):
    if not isinstance(cell, dict):
        return "-" if cell == "n/a" else cell
    if cell["n"] == 1 or not spread:
        return number(cell["median"]) if spread else short_number(cell["median"])
    return f"{number(cell['median'])} [{number(cell['p25'])}-{number(cell['p75'])}]"


def ratio_text(ratio):
    return f"{ratio:.1f}x" if ratio < 100 else f"{ratio:.0f}x"


def wide_table(run):
    """The full table as a header row and body rows of strings."""
    engines = columns(run)
    ratios = [c for c, base in SPEEDUPS.items() if {base, "compiled"} <= set(engines)]
    head = ["workload"] + engines + ratios
    body = []
    for row in run["rows"]:
        speedups = [ratio_text(row["speedups"][c]) if c in row["speedups"] else "-"
                    for c in ratios]
        body.append([wide_label(run, row["id"])] + [cell_text(row["cells"][e]) for e in engines]
                    + speedups)
    return head, body


def aligned(rows):
    """Rows of cells as lines: the first column to the left, the others to the right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                      for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
            for cells in rows]


def header_lines(run):
    h = run["header"]
    ran = [f"{e} {run['about'].get(e, '')}".strip() for e in columns(run)]
    ours = [text for e, text in zip(columns(run), ran) if e in ENGINES]
    peers = [text for e, text in zip(columns(run), ran) if e not in ENGINES]
    return [
        f"date: {h['date']}",
        f"machine: {h['cpu']}, {h['cores']} cores ({h['system']})",
        f"python: {h['python']}, compiler: {h['compiler']}",
        f"micrograd_fast {h['micrograd_fast']}, engines: {', '.join(ours) or 'none'}",
        f"peers: {', '.join(peers) or 'none'}",
        f"options: --size {run['options']['size']} --repeat {run['options']['repeat']}",
    ]


def problem_lines(run):
    lines = []
    if run["missing"]:
        lines.append("Not installed, not in the table: " + "; ".join(
            f"{engine} ({why})" for engine, why in run["missing"].items()))
    lines += [f"MISMATCH (not timed): {m}" for m in run["mismatches"]]
    lines += [f"ERROR: {e}" for e in run["errors"]]
    return lines


def notes(run, texts):
    values = {**run["options"], **run["sizes"]}
    return [note.format(**values) for note in texts]


def fit(lines, width=WIDTH):
    """Each line wrapped to ``width`` columns, its continuation indented."""
    return [part for line in lines
            for part in textwrap.wrap(line, width, subsequent_indent="  ",
                                      break_on_hyphens=False) or [""]]


def text(run):
    """The table for people: medians under plain headings, one speed-up, in 100 columns."""
    engines = columns(run)
    speedup = "compiled/micrograd" if {"compiled", "micrograd"} <= set(engines) else None
    repeat = run["options"]["repeat"]
    grid = [[f"medians of {repeat} runs" if repeat > 1 else "1 run each"] + engines +
            (["speed-up"] if speedup else [])]
    headings = {}  # heading: the indices in grid of its rows, in the order of first appearance
    for row in run["rows"]:
        if all(row["cells"][e] == "n/a" for e in engines):
            continue  # no engine of this run runs it
        cells = [cell_text(row["cells"][e], spread=False) for e in engines]
        if speedup:
            cells.append(ratio_text(row["speedups"][speedup]) if speedup in row["speedups"]
                         else "-")
        headings.setdefault(section(row["id"]), []).append(len(grid))
        grid.append([f"  {row['label']}"] + cells)
    lines = aligned(grid)
    table = [lines[0]]
    for heading, indices in headings.items():  # a heading is a line of its own
        table += [heading] + [lines[i] for i in indices]
    out = fit(["micrograd_fast benchmarks"] + header_lines(run)) + [""] + table + [""]
    out += fit(problem_lines(run) + [f"- {note}" for note in notes(run, NOTES)])
    return "\n".join(out)


def wide_text(run):
    """The full table (--wide): every cell's spread, both speed-ups, the long footnotes."""
    head, body = wide_table(run)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    out = ["micrograd_fast benchmarks"] + header_lines(run) + [""]
    out += aligned([head, ["-" * w for w in widths]] + body) + [""] + problem_lines(run)
    out += [f"({i}) {note}" for i, note in enumerate(notes(run, FOOTNOTES), 1)]
    return "\n".join(out)


def markdown(run, markdown_path, plot_path=None):
    head, body = wide_table(run)
    out = ["# Benchmark results", "",
           f"Regenerated by `{REGENERATE}` (about 4 minutes).", ""]
    out += [f"- {line}" for line in header_lines(run)] + [""]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join([":---"] + ["---:"] * (len(head) - 1)) + "|")
    out += ["| " + " | ".join(cells) + " |" for cells in body]
    out.append("")
    out += [f"{line}  " for line in problem_lines(run)]
    out += [f"{i}. {note}" for i, note in enumerate(notes(run, FOOTNOTES), 1)]
    if plot_path:
        relative = os.path.relpath(plot_path, os.path.dirname(os.path.abspath(markdown_path)))
        out += ["", f"![Speed-up over micrograd per workload]({relative})"]
    return "\n".join(out) + "\n"
