"""The figures some tests measure (peak memory, growth, examples run), shown after the run.

A test takes the ``figures`` fixture and calls ``figures.add(name, text)``; the
terminal summary lists them under "measured figures", so ``pytest`` (and CI's
log) show what the reliability tests saw, not only that they passed.
"""

import pytest


class Figures:
    def __init__(self):
        self.lines = {}

    def add(self, name, text):
        self.lines[name] = text


_FIGURES = Figures()


@pytest.fixture(scope="session")
def figures():
    return _FIGURES


def pytest_terminal_summary(terminalreporter):
    if _FIGURES.lines:
        terminalreporter.section("measured figures")
        for name in sorted(_FIGURES.lines):
            terminalreporter.write_line(f"{name}: {_FIGURES.lines[name]}")
