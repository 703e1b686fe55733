"""``python -m micrograd_fast run script.py [args]``: run a micrograd script, unmodified, on micrograd_fast.

The script sees ``sys.argv == ["script.py", args...]``, ``__name__ == "__main__"`` and its
own folder first on ``sys.path``, as with ``python script.py``; ``micrograd`` is
micrograd_fast (see ``micrograd_fast.install``).
"""

import argparse
import os
import runpy
import sys

from .dropin import install


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m micrograd_fast",
                                     description="Run micrograd code on micrograd_fast.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a script with `import micrograd` giving micrograd_fast")
    run.add_argument("script", help="the Python file to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    options = parser.parse_args(argv)

    install()
    sys.argv = [options.script, *options.args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(options.script)))
    runpy.run_path(options.script, run_name="__main__")


if __name__ == "__main__":
    main()
