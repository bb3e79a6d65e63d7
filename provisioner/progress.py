"""Live progress, shared by every layer (render's batch modes, orchestrate's runs, the CLI): a
rich bar per run and a line per tenant as it finishes on a terminal, plain lines otherwise (CI
logs). Reporters are called from worker and Pulumi event threads."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol, TextIO


# What a reporter reads of orchestrate's Step and StackResult (provisioner.orchestrate.results),
# described here so that this shared module imports no layer above it.
class StepLike(Protocol):
    @property
    def op(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...


class ResultLike(Protocol):
    @property
    def stack(self) -> str: ...
    @property
    def operation(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def changes(self) -> Mapping[str, int]: ...
    @property
    def error(self) -> str | None: ...
    @property
    def seconds(self) -> float: ...
    @property
    def skipped(self) -> bool: ...
    @property
    def status(self) -> str: ...


class Reporter(Protocol):
    def start(self, title: str, total: int) -> None: ...
    def step(self, stack: str, step: StepLike) -> None: ...
    def finished(self, result: ResultLike) -> None: ...
    def stop(self) -> None: ...


def result_line(result: ResultLike) -> str:
    c = result.changes
    counts = f"+{c['create']} ~{c['update']} ±{c['replace']} -{c['delete']}"
    if result.skipped:
        return f"{result.stack}: {result.status} ({result.error})"
    if not result.ok:
        return f"{result.stack}: FAILED {result.operation} ({result.seconds:.1f}s): {result.error}"
    return f"{result.stack}: {result.operation} ok {counts} ({result.seconds:.1f}s)"


class NullReporter:
    def start(self, title: str, total: int) -> None:
        pass

    def step(self, stack: str, step: StepLike) -> None:
        pass

    def finished(self, result: ResultLike) -> None:
        pass

    def stop(self) -> None:
        pass


class PlainReporter:
    """One line per finished tenant, with a running count; safe for CI logs."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0
        self._title = ""

    def start(self, title: str, total: int) -> None:
        with self._lock:
            self._done, self._total, self._title = 0, total, title
            print(f"{title}: {total} stack(s)", file=self.stream, flush=True)

    def step(self, stack: str, step: StepLike) -> None:
        pass  # per-resource lines would drown a 1,000-tenant log

    def finished(self, result: ResultLike) -> None:
        with self._lock:
            self._done += 1
            print(f"[{self._done}/{self._total}] {result_line(result)}", file=self.stream,
                  flush=True)

    def stop(self) -> None:
        pass


class RichReporter:
    """A progress bar per run whose description shows the latest resource step."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self._progress: Any = None
        self._task: Any = None
        self._lock = threading.Lock()

    def start(self, title: str, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with self._lock:
            self._progress = Progress(TextColumn("[bold]{task.fields[title]}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(),
                                      TextColumn("{task.description}"),
                                      console=self.console, transient=False)
            self._task = self._progress.add_task("", total=total, title=title)
            self._progress.start()

    def step(self, stack: str, step: StepLike) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.update(self._task,
                                      description=f"{stack}: {step.op} {step.type} {step.name}")

    def finished(self, result: ResultLike) -> None:
        from rich.markup import escape

        style = "green" if result.ok and not result.skipped else (
            "yellow" if result.skipped else "red")
        with self._lock:
            if self._progress is not None:
                self._progress.console.print(f"[{style}]{escape(result_line(result))}[/]")
                self._progress.advance(self._task)

    def stop(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.update(self._task, description="")
                self._progress.stop()
                self._progress = None


def reporter_for(stream: TextIO | None = None, quiet: bool = False) -> Reporter:
    """Rich on a terminal, plain lines otherwise."""
    stream = stream or sys.stderr
    if quiet:
        return NullReporter()
    if getattr(stream, "isatty", lambda: False)():
        return RichReporter()
    return PlainReporter(stream)


@contextmanager
def counting_bar(title: str, total: int,
                 stream: TextIO | None = None) -> Iterator[Callable[[], None]]:
    """A bar advanced once per item, for the batch modes (`render --all`, `explain --all`);
    on a terminal only: a pipe or a CI log gets no bar, and the call does nothing."""
    stream = stream or sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(file=stream), transient=True) as bar:
        task = bar.add_task(title, total=total)
        yield lambda: bar.advance(task)
