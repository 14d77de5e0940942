"""Step progress on stderr: a bar on a terminal, a line every tenth of the run otherwise."""
from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30


class Progress:
    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self._last_line = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        if self.tty:
            filled = BAR_WIDTH * done // total
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r{self.label} [{bar}] {done}/{total} steps {rate:5.1f}/s")
            if done == total:
                self.stream.write("\n")
            self.stream.flush()
            return
        every = max(1, total // 10)
        if done == total or done // every != self._last_line:
            self._last_line = done // every
            self.stream.write(f"{self.label}: {done}/{total} steps ({rate:.1f}/s)\n")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
