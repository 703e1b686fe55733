"""``python -m micrograd_fast run script.py [args]``: run a micrograd script, unmodified, on micrograd_fast.

The script sees ``sys.argv == ["script.py", args...]``, ``__name__ == "__main__"`` and its
own folder on ``sys.path``, as with ``python script.py``; ``micrograd`` is micrograd_fast
(see ``micrograd_fast.install``), in the script and in the child processes it starts.
Set ``MICROGRAD_FAST_FUSED=0`` to have its networks build micrograd's own graph.
"""

import argparse
import os
import runpy
import sys

from .dropin import ALIAS_PATH, install

PROG = "python -m micrograd_fast"


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description="Run micrograd code on micrograd_fast.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a script with `import micrograd` giving micrograd_fast")
    run.add_argument("script", help="the Python file to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    options = parser.parse_args(argv)

    if not os.path.isfile(options.script):  # as python itself says it, with its exit status
        print(f"{PROG} run: can't open file {os.path.abspath(options.script)!r}: "
              "no such file", file=sys.stderr)
        sys.exit(2)
    install()
    sys.argv = [options.script, *options.args]
    # the alias first, so that children started by multiprocessing (which get this
    # sys.path) import micrograd_fast as micrograd too, even beside a copy of micrograd
    sys.path[:0] = [ALIAS_PATH, os.path.dirname(os.path.abspath(options.script))]
    runpy.run_path(options.script, run_name="__main__")


if __name__ == "__main__":
    main()
