"""micrograd_fast.demo: the command line runs, trains as the notebook does, and plots."""

import sys

import pytest

from helpers import run_python, train_moons
from micrograd_fast import demo, nn, training


def test_main_runs_and_prints_a_summary(engine, capsys):
    name = {"micrograd_fast._engine": "compiled", "micrograd_fast.pure": "pure"}[engine.__name__]
    assert demo.main(["--steps", "3", "--samples", "8", "--engine", name]) == 0
    out = capsys.readouterr().out
    assert f"engine:        {name}" in out
    assert "final loss:" in out and "accuracy:" in out and "ms (" in out


def test_training_is_micrograds_demo_loop(engine):
    """The demo's SGD + LambdaLR gives the losses of the notebook's hand-written loop."""
    expected, _ = train_moons(nn, engine.Value, steps=3, n_samples=12, seed=5)
    X, y = training.moons(12, seed=5)
    model = training.new_mlp(seed=5, value_type=engine.Value)
    history = demo.train(model, engine.Value, X, y, 3, demo.PlainProgress(3))
    assert [loss for loss, _ in history] == expected
    assert all(0.0 <= accuracy <= 1.0 for _, accuracy in history)


def test_plain_progress_without_tqdm(monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert isinstance(demo.progress_bar(5), demo.PlainProgress)
    demo.main(["--steps", "2", "--samples", "4"])
    assert "step 2/2: loss" in capsys.readouterr().out


def test_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "moons.png"
    demo.main(["--steps", "2", "--samples", "6", "--plot", str(out)])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot:          {out}" in capsys.readouterr().out


def test_plot_without_matplotlib_fails_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(SystemExit) as exit:
        demo.main(["--steps", "1", "--samples", "4", "--plot", str(tmp_path / "x.png")])
    assert exit.value.code == 2  # argparse's usage error
    out, err = capsys.readouterr()
    assert out == ""  # no training started
    assert err.splitlines()[-1].endswith("--plot needs matplotlib: pip install matplotlib")


def test_plot_into_a_missing_folder_fails_before_training(tmp_path, capsys):
    target = tmp_path / "no" / "such" / "x.png"
    with pytest.raises(SystemExit) as exit:
        demo.main(["--steps", "1", "--samples", "4", "--plot", str(target)])
    assert exit.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"there is no folder {target.parent}" in err.splitlines()[-1]


def test_no_bar_into_a_pipe():
    result = run_python(None, args=["-m", "micrograd_fast.demo", "--steps", "3", "--samples", "4"])
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout + result.stderr
    assert "step 3/3: loss" in result.stdout


def test_bad_arguments_exit_with_usage():
    with pytest.raises(SystemExit):
        demo.main(["--steps", "0"])
    with pytest.raises(SystemExit):
        demo.main(["--engine", "cuda"])


def test_python_dash_m():
    result = run_python("""
        import runpy, sys
        sys.argv = ["micrograd-fast-demo", "--steps", "2", "--samples", "4"]
        runpy.run_module("micrograd_fast.demo", run_name="__main__")
    """, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "time per step" in result.stdout


def test_replay_gives_the_same_training(engine):
    """--replay: the graph built once and replayed gives the rebuilt loop's numbers, bit for bit."""
    X, y = training.moons(12, seed=5)
    runs = []
    for Graph in (None, engine.Graph):
        model = training.new_mlp(seed=5, value_type=engine.Value)
        runs.append(demo.train(model, engine.Value, X, y, 4, demo.PlainProgress(4), Graph=Graph))
    assert runs[0] == runs[1]


def test_replay_switch(capsys):
    assert demo.main(["--steps", "3", "--samples", "8", "--replay"]) == 0
    assert "graph replayed" in capsys.readouterr().out
