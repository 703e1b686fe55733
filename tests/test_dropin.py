"""micrograd_fast.install() and ``python -m micrograd_fast run``: unmodified micrograd code runs on us."""

import os
import pathlib

import pytest
from helpers import run_python

SCRIPT = pathlib.Path(__file__).parent / "data" / "micrograd_script.py"
SPAWN_SCRIPT = pathlib.Path(__file__).parent / "data" / "spawn_script.py"


@pytest.fixture(params=[pytest.param("compiled", marks=pytest.mark.c_extension), "pure"])
def engine_env(request):
    return {"MICROGRAD_FAST_PURE": "1" if request.param == "pure" else "0"}, request.param


def test_run_executes_an_unmodified_micrograd_script(engine_env):
    env, name = engine_env
    result = run_python(None, env=env, args=["-m", "micrograd_fast", "run", str(SCRIPT), "--flag", "x"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["24.7041", "138.8338", "645.5773"]
    first, last = (float(x) for x in lines[3].removeprefix("loss ").split(" -> "))
    assert last < first
    module = "micrograd_fast._engine" if name == "compiled" else "micrograd_fast.pure"
    assert lines[4:] == [f"Value from {module}", "nn from micrograd_fast.nn",
                         "main True argv ['--flag', 'x']"]


def test_spawned_children_get_micrograd_fast_too(engine_env):
    pytest.importorskip("micrograd")  # without it, a child importing micrograd would fail anyway
    env, name = engine_env
    result = run_python(None, env=env, args=["-m", "micrograd_fast", "run", str(SPAWN_SCRIPT)])
    assert result.returncode == 0, result.stderr
    module = "micrograd_fast._engine" if name == "compiled" else "micrograd_fast.pure"
    assert result.stdout.splitlines() == [f"children [('{module}', True)]", f"parent {module}"]
    # the same script run by plain python is micrograd's, in the children as in the parent
    plain = run_python(None, args=[str(SPAWN_SCRIPT)])
    assert plain.stdout.splitlines() == ["children [('micrograd.engine', True)]", "parent micrograd.engine"]


def test_run_a_missing_script_says_so_in_one_line(tmp_path):
    result = run_python(None, args=["-m", "micrograd_fast", "run", str(tmp_path / "missing.py")])
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "missing.py" in result.stderr
    assert "can't open file" in result.stderr and "Traceback" not in result.stderr


def test_find_spec_after_install():
    result = run_python("""
        import importlib.util, micrograd_fast
        micrograd_fast.install()
        specs = [importlib.util.find_spec(name) for name in ("micrograd", "micrograd.engine", "micrograd.nn")]
        print([spec.name for spec in specs], specs[0].submodule_search_locations)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['micrograd', 'micrograd_fast.engine', 'micrograd_fast.nn'] []\n"


def test_the_alias_folder_gives_micrograd_fast_to_a_fresh_interpreter():
    from micrograd_fast.dropin import ALIAS_PATH
    result = run_python("""
        import warnings
        warnings.simplefilter("error")
        import micrograd
        from micrograd.nn import MLP
        import micrograd_fast
        print(micrograd.__micrograd_fast__, MLP is micrograd_fast.nn.MLP)
    """, env={"PYTHONPATH": ALIAS_PATH})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "True True\n"


def test_install_wins_over_an_installed_micrograd():
    result = run_python("""
        import micrograd_fast, micrograd_fast.nn
        micrograd_fast.install()
        micrograd_fast.install()  # twice is fine
        import micrograd, micrograd.engine
        from micrograd.engine import Value
        from micrograd.nn import MLP
        assert Value is micrograd_fast.engine.Value and micrograd.engine.Value is Value
        assert MLP is micrograd_fast.nn.MLP and micrograd.nn is micrograd_fast.nn
        assert micrograd.__file__ == micrograd_fast.__file__  # "which micrograd is this?"
        try:
            import micrograd.other
        except ModuleNotFoundError:
            print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


def test_install_replaces_an_imported_micrograd_with_a_warning():
    pytest.importorskip("micrograd")
    result = run_python("""
        import warnings
        import micrograd.engine
        import micrograd_fast
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            micrograd_fast.install()
        assert [w.category for w in caught] == [RuntimeWarning], caught
        from micrograd.engine import Value
        print(type(Value(1.0)).__module__.startswith("micrograd_fast"))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "True\n"


def test_install_works_without_micrograd(tmp_path):
    # an empty 'micrograd' that fails to import stands for a missing one: install() must not import it
    (tmp_path / "micrograd").mkdir()
    (tmp_path / "micrograd" / "__init__.py").write_text("raise ImportError('micrograd is absent')\n")
    result = run_python("""
        import micrograd_fast
        micrograd_fast.install()
        from micrograd.nn import MLP
        print(MLP(2, [1]))
    """, env={"PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "MLP of [Layer of [LinearNeuron(2)]]\n"
