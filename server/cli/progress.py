"""A progress bar on standard error, drawn only once a run has taken more than a second."""
from __future__ import annotations

import time

import click


class Progress:
    """Called with the count done so far; draws at most five times a second, and a last time on exit.

    ``clock`` is injectable (here or on the class), so the bar can be tested without a run that lasts.
    """

    WIDTH = 30
    DELAY = 1.0  # seconds before the first drawing: a quick run shows nothing
    EVERY = 0.2  # seconds between drawings
    clock = staticmethod(time.monotonic)

    def __init__(self, total: int | None, clock=None):
        self.total = total
        if clock is not None:
            self.clock = clock
        self.started = self.clock()
        self.drawn = 0.0
        self.done = 0

    def __call__(self, done: int, final: bool = False) -> None:
        now = self.clock()
        self.done = done
        if now - self.started < self.DELAY or (now - self.drawn < self.EVERY and not final):
            return
        rate = f"{done / (now - self.started):,.0f} requests/s"
        if self.total:
            filled = min(self.WIDTH, self.WIDTH * done // self.total)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            click.echo(f"\r[{bar}] {done}/{self.total} {rate}", err=True, nl=False)
        else:
            click.echo(f"\rcompared {done} requests, {rate}", err=True, nl=False)
        self.drawn = now

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.drawn:
            self(self.done, final=True)
            click.echo("", err=True)
