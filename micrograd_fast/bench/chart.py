"""The chart (``--plot``): each engine's speed-up over micrograd per row, log scale."""

from .report import columns, same_training


def plot(run, path):
    """Draw the chart into ``path``; None, or why not."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "--plot needs matplotlib: pip install matplotlib"
    engines = [e for e in columns(run) if e != "micrograd"]
    by_id = {r["id"]: r for r in run["rows"]}

    def micrograd(row):  # its cell, or on the rows it cannot run its rebuilt graph's
        cell = row["cells"].get("micrograd")
        if cell == "n/a" and same_training(row["id"]) in by_id:
            cell = by_id[same_training(row["id"])]["cells"].get("micrograd")
        return cell if isinstance(cell, dict) else None

    rows = [r for r in run["rows"] if micrograd(r)]
    if not rows:
        return "micrograd did not run, and the chart is the speed-up over micrograd"
    width = 0.8 / len(engines)
    figure, axes = plt.subplots(figsize=(12, 5))
    for i, engine in enumerate(engines):
        xs, ratios = [], []
        for x, row in enumerate(rows):
            cell = row["cells"][engine]
            if isinstance(cell, dict):
                xs.append(x + (i - (len(engines) - 1) / 2) * width)
                ratios.append(micrograd(row)["median"] / cell["median"])
        bars = axes.bar(xs, ratios, width, label=engine)
        axes.bar_label(bars, labels=[f"{r:.3g}x" for r in ratios], fontsize=6)
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_yscale("log")
    axes.set_xticks(range(len(rows)))
    axes.set_xticklabels([r["id"].replace("off", "\ngc off").replace("on", "\ngc on")
                          for r in rows], fontsize=8)
    axes.set_ylabel("speed-up over micrograd (W5: memory ratio), log scale")
    h = run["header"]
    axes.set_title(f"micrograd_fast vs micrograd, numpy and PyTorch, {h['date']}, {h['cpu']}\n"
                   "W4F, W4R (micrograd_fast) and W4B (numpy, PyTorch: the batch as matrices) "
                   "against micrograd's W4", fontsize=9)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return None
