"""What the command line shows while it runs: on a terminal only, never into a pipe or file.

tqdm's bar when it is installed, else one line per step. ``note`` (a mismatch, say)
is always written to stderr.
"""

import sys


class NoProgress:

    def total(self, steps):
        pass

    def show(self, what):
        pass

    def advance(self, steps=1):
        pass

    def note(self, message):
        print(message, file=sys.stderr, flush=True)

    def close(self):
        pass


class PlainProgress(NoProgress):
    """One line per step, when tqdm is not installed."""

    def __init__(self):
        self.done, self.steps = 0, 0

    def total(self, steps):
        self.steps = steps

    def show(self, what):
        print(f"[{self.done}/{self.steps}] {what}", file=sys.stderr, flush=True)

    def advance(self, steps=1):
        self.done += steps


class TqdmProgress(NoProgress):

    def __init__(self, tqdm):
        self.bar = tqdm(total=0, unit="run", file=sys.stderr, leave=False)

    def total(self, steps):
        self.bar.total = steps
        self.bar.refresh()

    def show(self, what):
        self.bar.set_description(what)

    def advance(self, steps=1):
        self.bar.update(steps)

    def note(self, message):
        self.bar.write(message, file=sys.stderr)

    def close(self):
        self.bar.close()


def make_progress(wanted=True, stream=None):
    """A progress display when ``wanted`` and ``stream`` (stderr) is a terminal."""
    stream = stream or sys.stderr
    if not (wanted and stream.isatty()):
        return NoProgress()
    try:
        from tqdm import tqdm
    except ImportError:
        return PlainProgress()
    return TqdmProgress(tqdm)
