"""micrograd's demo.ipynb from the command line: train an MLP on the moons.

    micrograd-fast-demo                     # 100 steps on 100 points
    micrograd-fast-demo --engine pure       # the same run on the pure-Python engine
    micrograd-fast-demo --plot moons.png    # and save the decision boundary and loss curve
    micrograd-fast-demo --replay            # build the graph once, replay it every step

MLP(2, [16, 16, 1]), max-margin loss plus L2 (alpha 1e-4), SGD with the
notebook's learning rate 1.0 - 0.9 * k / steps: ``micrograd_fast.training``, the
step the benchmarks and the tests run too. The progress bar is tqdm's when it is
installed and stderr is a terminal, else a line every tenth of the run; the plot
needs matplotlib (``pip install "micrograd_fast[plot]"``).
"""

import argparse
import importlib
import os
import sys
import time

from . import engine, training
from .engine import ENGINES


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="micrograd-fast-demo", description="Train micrograd's moons MLP and time it.")
    parser.add_argument("--steps", type=int, default=100, help="training steps (default: 100)")
    parser.add_argument("--samples", type=int, default=100, help="moons points (default: 100)")
    parser.add_argument("--seed", type=int, default=1337, help="seed of data and weights")
    parser.add_argument("--engine", choices=sorted(ENGINES),
                        help=f"the engine to use (default: {engine.IMPLEMENTATION}, the selector's)")
    parser.add_argument("--replay", action="store_true",
                        help="build the training graph once and replay it every step "
                             "(micrograd_fast's Graph): the same numbers, faster")
    parser.add_argument("--plot", metavar="OUT.png",
                        help="save the decision boundary and the loss curve (needs matplotlib)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.samples < 2:
        parser.error("--steps must be at least 1 and --samples at least 2")
    if args.plot:
        problem = plot_path_problem(args.plot)
        if problem:
            parser.error(problem)
    return parser, args


def plot_path_problem(path):
    """Why a chart cannot be saved at ``path`` (checked before any work starts), or None."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"--plot {path}: there is no folder {folder}"
    if not os.access(folder, os.W_OK):
        return f"--plot {path}: the folder {folder} is not writable"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "--plot needs matplotlib: pip install matplotlib"
    return None


def accuracy(scores, y):
    """The share of points on the right side of the decision boundary."""
    return sum((yi > 0) == (s.data > 0) for yi, s in zip(y, scores)) / len(y)


def train(model, Value, X, y, steps, progress, Graph=None):
    """The training loop (``micrograd_fast.training``); returns the loss and the accuracy
    of every step.

    With ``Graph`` (the engine's), the graph is built once and replayed every step:
    the same numbers, without building a graph each step.
    """
    run = training.Training(model, X, y, steps, Value, Graph)
    history = []
    for k in range(steps):
        loss, scores = run.step(k)
        history.append((loss.data, accuracy(scores, y)))
        progress.set_postfix_str(f"loss {loss.data:.4f}, accuracy {history[-1][1]:.0%}",
                                 refresh=False)
        progress.update(1)
    progress.close()
    return history


class PlainProgress:
    """tqdm's update / set_postfix_str / close, as a printed line every tenth of the run."""

    def __init__(self, total):
        self.total, self.done, self.postfix = total, 0, ""
        self.every = max(1, total // 10)

    def set_postfix_str(self, text, refresh=True):
        self.postfix = text

    def update(self, n):
        self.done += n
        if self.done % self.every == 0 or self.done == self.total:
            print(f"step {self.done:>{len(str(self.total))}}/{self.total}: {self.postfix}", flush=True)

    def close(self):
        pass


def progress_bar(total):
    if not sys.stderr.isatty():  # no bar redrawn with \r into a pipe or a file
        return PlainProgress(total)
    try:
        from tqdm import tqdm
    except ImportError:
        return PlainProgress(total)
    return tqdm(total=total, unit="step", desc="training")


def save_plot(path, model, Value, X, y, history, implementation):
    """The decision boundary over the points, and the loss and accuracy per step."""
    from matplotlib.figure import Figure  # checked by parse_args
    # the model's score on a grid around the points (a plain Figure: no GUI backend needed)
    n = 60
    xs = [row[0] for row in X]
    ys = [row[1] for row in X]
    x0, x1 = min(xs) - 0.5, max(xs) + 0.5
    y0, y1 = min(ys) - 0.5, max(ys) + 0.5
    grid_x = [x0 + (x1 - x0) * i / (n - 1) for i in range(n)]
    grid_y = [y0 + (y1 - y0) * j / (n - 1) for j in range(n)]
    scores = [[model([Value(a), Value(b)]).data for a in grid_x] for b in grid_y]

    fig = Figure(figsize=(11, 4.5), layout="constrained")
    boundary, curve = fig.subplots(1, 2, width_ratios=[1, 1.2])
    boundary.contourf(grid_x, grid_y, [[s > 0 for s in row] for row in scores],
                      levels=[-0.5, 0.5, 1.5], colors=["#f4b6b6", "#b6cdf4"], alpha=0.8)
    boundary.contour(grid_x, grid_y, scores, levels=[0.0], colors="k", linewidths=1)
    for label, color in ((-1, "#c62828"), (1, "#1565c0")):
        points = [row for row, yi in zip(X, y) if yi == label]
        boundary.scatter([p[0] for p in points], [p[1] for p in points], s=18, c=color,
                         edgecolors="k", linewidths=0.4, label=f"class {label:+d}")
    boundary.set(title="decision boundary", xlabel="x0", ylabel="x1")
    boundary.legend(loc="upper right", fontsize="small")

    steps = range(1, len(history) + 1)
    curve.plot(steps, [loss for loss, _ in history], color="#333333", label="loss")
    loss, accuracy = history[-1]
    curve.set(title=f"training: final loss {loss:.4f}, accuracy {accuracy:.0%}",
              xlabel="step", ylabel="loss")
    curve.set_ylim(bottom=0)
    accuracy_axis = curve.twinx()
    accuracy_axis.plot(steps, [acc for _, acc in history], color="#2e7d32", label="accuracy")
    accuracy_axis.set_ylim(0, 1.02)
    accuracy_axis.set_ylabel("accuracy", color="#2e7d32")
    curve.legend(handles=curve.get_lines() + accuracy_axis.get_lines(), loc="center right",
                 fontsize="small")
    fig.suptitle(f"micrograd_fast ({implementation} engine): MLP(2, [16, 16, 1]) on the moons")
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser, args = parse_args(argv)
    if args.engine is None:
        Value, Graph, implementation = engine.Value, engine.Graph, engine.IMPLEMENTATION
    else:
        try:
            chosen = importlib.import_module(ENGINES[args.engine])
        except ImportError as error:
            parser.error(f"the {args.engine} engine is not available ({error}); "
                         "reinstall with a C compiler to build it: pip install .")
        Value, Graph, implementation = chosen.Value, chosen.Graph, args.engine

    X, y = training.moons(args.samples, args.seed)  # classes -1 and 1, for the max-margin loss
    model = training.new_mlp(seed=args.seed, value_type=Value)
    print(f"micrograd_fast demo: {implementation} engine, MLP(2, [16, 16, 1]) with "
          f"{len(model.parameters())} parameters, {args.samples} moons points, {args.steps} steps")

    start = time.perf_counter()
    history = train(model, Value, X, y, args.steps, progress_bar(args.steps),
                    Graph=Graph if args.replay else None)
    seconds = time.perf_counter() - start

    loss, accuracy = history[-1]
    print(f"engine:        {implementation}" + (", graph replayed" if args.replay else ""))
    print(f"final loss:    {loss:.4f}")
    print(f"accuracy:      {accuracy:.0%}")
    print(f"time per step: {seconds / args.steps * 1e3:.2f} ms ({seconds:.2f} s in all)")
    if args.plot:
        save_plot(args.plot, model, Value, X, y, history, implementation)
        print(f"plot:          {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
