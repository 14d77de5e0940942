"""Progress: a bar with an ETA on a terminal; in logs and CI plain lines with no escape code or carriage return.
And brownie's test output (colours, the stateful spinner) follows pytest's decision in the same way."""
from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from marginlab.brownie import plain
from marginlab.progress import Progress, clock, is_terminal


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    for name in ("CI", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")


def run(tty: bool, total: int = 20, step_s: float = 0.5) -> str:
    stream, now = Stream(tty), Clock()
    bar = Progress("demo [cross]", stream, now=now)
    for done in range(1, total + 1):
        now.t += step_s
        bar(done, total)
    bar.close()
    return stream.getvalue()


def test_on_a_terminal_the_bar_is_redrawn_in_place_with_rate_and_eta():
    stream, now = Stream(True), Clock()
    bar = Progress("demo", stream, now=now)
    now.t += 2.0
    bar(4, 20)  # 2 steps/s so far: 16 left → 8 s
    assert stream.getvalue() == "\rdemo [######........................] 4/20 steps   2.0/s ETA 0:08"
    now.t += 8.0
    bar(20, 20)
    assert stream.getvalue().endswith("\rdemo [##############################] 20/20 steps   2.0/s done in 0:10\n")


def test_in_a_log_progress_is_a_plain_line_at_the_first_step_and_every_tenth_without_escape_codes():
    out = run(tty=False)
    lines = out.splitlines()
    assert len(lines) == 11
    assert "\r" not in out and "\x1b" not in out
    assert lines[0] == "demo [cross]: 1/20 steps (2.0/s, about 0:10 left)"
    assert lines[1] == "demo [cross]: 2/20 steps (2.0/s, about 0:09 left)"
    assert lines[-1] == "demo [cross]: 20/20 steps (2.0/s, 0:10 in all)"


@pytest.mark.parametrize("env", [{"CI": "true"}, {"TERM": "dumb"}, {"NO_COLOR": "1"}])
def test_ci_a_dumb_terminal_or_no_color_get_plain_lines_even_on_a_tty(monkeypatch, env):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert not is_terminal(Stream(True))
    assert "\r" not in run(tty=True)


def test_a_bar_left_open_by_a_failed_run_is_ended_by_close_and_a_finished_one_is_not_ended_twice():
    stream, now = Stream(True), Clock()
    bar = Progress("demo", stream, now=now)
    now.t += 1
    bar(1, 5)
    bar.close()
    assert stream.getvalue().endswith("\n") and stream.getvalue().count("\n") == 1
    assert run(tty=True).count("\n") == 1


def test_other_units_and_long_runs_read_naturally():
    stream, now = Stream(False), Clock()
    bar = Progress("sweep hedged-book", stream, unit="replays", now=now)
    now.t += 4000
    bar(1, 2)
    assert stream.getvalue() == "sweep hedged-book: 1/2 replays (0.0/s, about 1:06:40 left)\n"
    assert clock(59.6) == "1:00" and clock(0) == "0:00"


def config(markup: bool, capture: str = "fd"):
    capman = object()
    return SimpleNamespace(get_terminal_writer=lambda: SimpleNamespace(hasmarkup=markup),
                           getoption=lambda name: capture,
                           pluginmanager=SimpleNamespace(get_plugin=lambda name: capman), capman=capman)


def test_brownies_stateful_spinner_is_drawn_on_a_terminal_only():
    from brownie.test.stateful import _BrownieStateMachine

    on_tty = config(markup=True)
    plain.state_machine(on_tty)
    assert getattr(_BrownieStateMachine, "_capman") is on_tty.capman  # brownie's spinner needs it
    plain.state_machine(config(markup=False))
    assert getattr(_BrownieStateMachine, "_capman") is None  # no spinner frames in a log
    plain.state_machine(config(markup=True, capture="no"))
    assert getattr(_BrownieStateMachine, "_capman") is None


def test_brownies_colours_are_off_when_pytest_writes_plain_text(monkeypatch):
    from brownie._config import CONFIG

    monkeypatch.setitem(CONFIG.settings["console"], "show_colors", True)
    plain.configure(config(markup=True))
    assert CONFIG.settings["console"]["show_colors"] is True
    plain.configure(config(markup=False))
    assert CONFIG.settings["console"]["show_colors"] is False
