"""The benchmark run as data, and its table as text, Markdown and a chart.

A run is a JSON-ready dict (``new_run``): the header (date, machine, versions),
the samples per row and engine, what is missing or failed, and after
``summarize`` one entry per row with each cell's median and spread and the
speed-ups of the compiled engine. ``text``, ``markdown`` and ``plot`` only read it.
"""

import datetime
import importlib.metadata
import os
import platform
import statistics
import sysconfig
from dataclasses import asdict, dataclass

from . import __version__, _peers

REGENERATE = "micrograd-fast-bench --markdown benchmarks/RESULTS.md --plot benchmarks/speedup.png"


@dataclass(frozen=True)
class Row:
    workload: str
    title: str  # formatted with the run's sizes
    unit: str
    per_ns: float  # multiply ns per op by this to get the unit


ROWS = {
    "W1": Row("W1", "W1 forward, {chains} chains x {chain_steps} steps", "ns/op", 1.0),
    "W2": Row("W2", "W2 backward of W1", "ns/op", 1.0),
    "W3": Row("W3", "W3 deep chain of {deep_steps}, fwd+bwd+free", "ns/step", 1.0),
    "W4off": Row("W4", "W4 training step, collector off", "ms/step", 1e-6),
    "W4on": Row("W4", "W4 training step, as users run it", "ms/step", 1e-6),
    "W4Foff": Row("W4F", "W4F fused neuron, collector off", "ms/step", 1e-6),
    "W4Fon": Row("W4F", "W4F fused neuron, as users run it", "ms/step", 1e-6),
    "W4Roff": Row("W4R", "W4R replayed graph, collector off", "ms/step", 1e-6),
    "W4Ron": Row("W4R", "W4R replayed graph, as users run it", "ms/step", 1e-6),
    "W5": Row("W5", "W5 memory, {products} product nodes", "bytes/node", 1.0),
}
SPEEDUPS = {"compiled/pure": "pure", "compiled/micrograd": "micrograd"}  # column: baseline engine

FOOTNOTES = [
    "Cells: median over {repeat} timed runs after one warm-up, [25th-75th percentile]. W1 and W2 are "
    "per op call (each chain step, each addition of the final balanced sum), W3 per "
    "`x = x*1.0001 + 0.1` step, W4 per training step (MLP(2, [16, 16, 1]), {points} moons points), "
    "W5 resident bytes per node.",
    "Speed-ups: the baseline's median over the compiled engine's (W5: its bytes per node over the "
    "compiled engine's). On W4F and W4R, micrograd's baseline is its W4 row: its only way to train.",
    "Timed with time.perf_counter_ns and the garbage collector disabled, except W4 'as users run "
    "it': collector on, and the previous step's graph freed inside the step. W3 includes freeing "
    "the chain, with gc.collect() when dropping it does not free it (pure and micrograd nodes sit "
    "in reference cycles).",
    "W5: growth of the resident set (/proc/self/statm) in a fresh process while the nodes fill a "
    "list allocated before the baseline, so the list itself is not counted; {memory_runs} process(es).",
    "Every engine runs in its own process. Before timing, its outputs and gradients on a small "
    "seeded instance are checked against the pure engine's: within 1e-12 of the larger of the "
    "number and the largest number of its kind (outputs, gradients).",
    "Karpathy's micrograd sorts the graph recursively: every worker runs in a thread with a "
    "512 MiB stack and sys.setrecursionlimit(10**6).",
    "floats: the same arithmetic on plain Python floats, no graph (W1, W3): the floor. torch: "
    "0-dim float64 tensors, torch.set_num_threads(1); inputs do not require grad.",
    "W4 models: micrograd's graph (a * and a + node per weight): micrograd its own nn, the "
    "others micrograd_fast.nn with fused=False. W4F: micrograd_fast.nn as users get it, each "
    "Neuron one Value.dot node (the same numbers, bit for bit). W4R: that model's graph built "
    "once and replayed each step with micrograd_fast's Graph (forward, zero_grad, backward, "
    "update), inputs set on the same leaves. W4F and W4R exist on micrograd_fast's engines only.",
]


# -- the run as data -----------------------------------------------------------

def new_run(args, sizes, engines, memory_runs):
    return {
        "header": header(),
        "options": {"size": args.size, "repeat": args.repeat, "quick": args.quick,
                    "memory_runs": memory_runs},
        "sizes": asdict(sizes),
        "engines": engines,
        "rows_selected": list(args.only),
        "missing": {},
        "errors": [],
        "mismatches": [],  # "engine workload: what differs"
        "samples": {row: {} for row in args.only},
        "rows": [],
    }


def header():
    def version(distribution):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "compiler": sysconfig.get_config_var("CC") or "unknown",
        "versions": {"micrograd_fast": __version__, "Cython": version("Cython"),
                     "micrograd": version("micrograd"), "torch": version("torch")},
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
    if workload not in _peers.workloads_of(engine):
        return "n/a"
    if any(m.startswith(f"{engine} {workload}:") for m in run["mismatches"]):
        return "MISMATCH"
    return "time"


def add_results(run, engine, answer):
    """Add one worker's samples, converted to each row's unit."""
    if "error" in answer or "missing" in answer:
        run["errors"].append(f"{engine}: {answer.get('error') or answer.get('missing')}")
        return
    for row, result in answer["results"].items():
        values = [sample / result["per"] * ROWS[row].per_ns for sample in result["samples"]]
        run["samples"][row].setdefault(engine, []).extend(values)


def stats(values):
    ordered = sorted(values)
    low, high = (statistics.quantiles(ordered, n=4, method="inclusive")[::2]
                 if len(ordered) > 1 else (ordered[0], ordered[0]))
    return {"median": statistics.median(ordered), "p25": low, "p75": high,
            "min": ordered[0], "max": ordered[-1], "n": len(ordered)}


# W4F and W4R are micrograd_fast's own ways to run W4's training: a peer that has
# neither is compared on its W4 row (the same training, the same collector setting).
SAME_TRAINING = {"W4Foff": "W4off", "W4Fon": "W4on", "W4Roff": "W4off", "W4Ron": "W4on"}


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
            if base == "n/a" and SAME_TRAINING.get(row) in cells_of:
                base = cells_of[SAME_TRAINING[row]].get(baseline)
            if isinstance(base, dict) and isinstance(compiled, dict):
                speedups[column] = base["median"] / compiled["median"]
        run["rows"].append({"id": row, "label": title(run, row), "unit": ROWS[row].unit,
                            "cells": cells, "speedups": speedups})


def columns(run):
    """The engines shown: every one that could be imported, in the table's order."""
    known = [e for e in _peers.ENGINES if e in run["engines"]]
    others = [e for e in run["engines"] if e not in _peers.ENGINES]
    return [e for e in known + others if e not in run["missing"]]


def title(run, row):
    return f"{ROWS[row].title.format(**run['sizes'])} ({ROWS[row].unit})"


# -- text and Markdown ---------------------------------------------------------

def number(x):
    if x >= 100:
        return f"{x:.0f}"
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def cell_text(cell):
    if not isinstance(cell, dict):
        return "-" if cell == "n/a" else cell
    if cell["n"] == 1:
        return number(cell["median"])
    return f"{number(cell['median'])} [{number(cell['p25'])}-{number(cell['p75'])}]"


def table(run):
    """The table as a header row and body rows of strings."""
    engines = columns(run)
    ratios = [c for c, base in SPEEDUPS.items() if {base, "compiled"} <= set(engines)]
    head = ["workload"] + engines + ratios
    body = []
    for row in run["rows"]:
        speedups = [f"{row['speedups'][c]:.1f}x" if c in row["speedups"] else "-" for c in ratios]
        body.append([row["label"]] + [cell_text(row["cells"][e]) for e in engines] + speedups)
    return head, body


def header_lines(run):
    h = run["header"]
    versions = ", ".join(f"{name} {v}" for name, v in h["versions"].items())
    return [
        f"date: {h['date']}",
        f"machine: {h['cpu']}, {h['cores']} cores ({h['system']})",
        f"python: {h['python']}, compiler: {h['compiler']}",
        f"versions: {versions}",
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


def footnotes(run):
    values = {**run["options"], **run["sizes"]}
    return [note.format(**values) for note in FOOTNOTES]


def text(run):
    head, body = table(run)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = ["micrograd_fast benchmarks"] + header_lines(run) + ["", line(head),
                                                               line(["-" * w for w in widths])]
    out += [line(cells) for cells in body]
    out += [""] + problem_lines(run)
    out += [f"({i}) {note}" for i, note in enumerate(footnotes(run), 1)]
    return "\n".join(out)


def markdown(run, markdown_path, plot_path=None):
    head, body = table(run)
    out = ["# Benchmark results", "",
           f"Regenerated by `{REGENERATE}` (about 4 minutes).", ""]
    out += [f"- {line}" for line in header_lines(run)] + [""]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join([":---"] + ["---:"] * (len(head) - 1)) + "|")
    out += ["| " + " | ".join(cells) + " |" for cells in body]
    out.append("")
    out += [f"{line}  " for line in problem_lines(run)]
    out += [f"{i}. {note}" for i, note in enumerate(footnotes(run), 1)]
    if plot_path:
        relative = os.path.relpath(plot_path, os.path.dirname(os.path.abspath(markdown_path)))
        out += ["", f"![Speed-up over micrograd per workload]({relative})"]
    return "\n".join(out) + "\n"


# -- the chart -----------------------------------------------------------------

def plot(run, path):
    """Bars of each engine's speed-up over micrograd per row, log scale; None, or why not."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "--plot needs matplotlib: pip install 'micrograd_fast[plot]'"
    engines = [e for e in columns(run) if e != "micrograd"]
    by_id = {r["id"]: r for r in run["rows"]}

    def micrograd(row):  # its cell, or on W4F and W4R its W4 cell
        cell = row["cells"].get("micrograd")
        if cell == "n/a" and SAME_TRAINING.get(row["id"]) in by_id:
            cell = by_id[SAME_TRAINING[row["id"]]]["cells"].get("micrograd")
        return cell if isinstance(cell, dict) else None

    rows = [r for r in run["rows"] if micrograd(r)]
    if not rows:
        return "micrograd did not run, and the chart is the speed-up over micrograd"
    width = 0.8 / len(engines)
    figure, axes = plt.subplots(figsize=(10, 5))
    for i, engine in enumerate(engines):
        xs, ratios = [], []
        for x, row in enumerate(rows):
            cell = row["cells"][engine]
            if isinstance(cell, dict):
                xs.append(x + (i - (len(engines) - 1) / 2) * width)
                ratios.append(micrograd(row)["median"] / cell["median"])
        bars = axes.bar(xs, ratios, width, label=engine)
        axes.bar_label(bars, labels=[f"{r:.3g}x" for r in ratios], fontsize=7)
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_yscale("log")
    axes.set_xticks(range(len(rows)))
    axes.set_xticklabels([r["id"].replace("off", " gc off").replace("on", " as run")
                          for r in rows])
    axes.set_ylabel("speed-up over micrograd (W5: memory ratio), log scale")
    h = run["header"]
    axes.set_title(f"micrograd_fast vs micrograd, {h['date']}, {h['cpu']}", fontsize=9)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return None
