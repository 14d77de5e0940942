"""Progress on stderr: on a terminal a bar with the rate and an ETA, redrawn in place; in a log, a pipe or CI
(not a terminal, ``TERM=dumb``, ``NO_COLOR`` or ``CI`` set) plain lines, one every tenth of the run, with no
escape code or carriage return in them."""
from __future__ import annotations

import os
import sys
import time
from typing import Callable, TextIO

BAR_WIDTH = 30
LINES_PER_RUN = 10


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal that may be drawn on (a bar redrawn with carriage returns)."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    env = os.environ
    return tty and env.get("TERM") != "dumb" and not env.get("NO_COLOR") and not env.get("CI")


def clock(seconds: float) -> str:
    """``0:42``, ``12:05``, ``1:02:03``."""
    whole = max(0, int(round(seconds)))
    hours, rem = divmod(whole, 3600)
    minutes, secs = divmod(rem, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """``progress(done, total)`` after each unit of work (a step, a replay)."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool = True, unit: str = "steps",
                 now: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.unit = unit
        self.tty = is_terminal(self.stream)
        self._now = now
        self.started = now()
        self._last_line = -1
        self._width = 0
        self._open = False

    def eta(self, done: int, total: int) -> float | None:
        """Seconds left at the rate so far (None before the first unit is done)."""
        elapsed = self._now() - self.started
        if done <= 0 or elapsed <= 0:
            return None
        return elapsed / done * (total - done)

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        elapsed = self._now() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = self.eta(done, total)
        if self.tty:
            filled = BAR_WIDTH * done // total
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            when = f"done in {clock(elapsed)}" if done >= total else \
                f"ETA {clock(left)}" if left is not None else "ETA --:--"
            text = f"{self.label} [{bar}] {done}/{total} {self.unit} {rate:5.1f}/s {when}"
            self.stream.write("\r" + text.ljust(self._width))
            self._width = max(self._width, len(text))
            self._open = done < total
            if done >= total:
                self.stream.write("\n")
            self.stream.flush()
            return
        every = max(1, total // LINES_PER_RUN)
        if done == total or done // every != self._last_line:
            self._last_line = done // every
            when = f"{clock(elapsed)} in all" if done >= total else \
                f"about {clock(left)} left" if left is not None else "starting"
            self.stream.write(f"{self.label}: {done}/{total} {self.unit} ({rate:.1f}/s, {when})\n")
            self.stream.flush()

    def close(self) -> None:
        """End a bar left open (a run that stopped early), so the next message starts on its own line."""
        if self.enabled and self.tty and self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
