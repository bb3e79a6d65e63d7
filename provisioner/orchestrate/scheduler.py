"""Bounded parallel runs of stack operations; one tenant's failure never stops the others in
its wave, and a failing wave stops the waves after it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from provisioner.orchestrate.automation import describe_error
from provisioner.orchestrate.results import Operation, StackResult, StackRunner
from provisioner.progress import NullReporter, Reporter
from provisioner.redaction import Redactor


@dataclass(frozen=True)
class Job:
    stack: str
    operation: Operation


@dataclass
class Wave:
    name: str
    jobs: list[Job] = field(default_factory=list)


def run_one(runner: StackRunner, job: Job, reporter: Reporter, redactor: Redactor) -> StackResult:
    """Run one job; any exception becomes a failed result with a redacted reason."""
    started = time.monotonic()
    try:
        result = getattr(runner, job.operation)(job.stack, reporter.step)
    except Exception as exc:
        return StackResult(job.stack, job.operation, ok=False,
                           error=describe_error(exc, redactor),
                           seconds=time.monotonic() - started)
    if result.seconds == 0.0:
        result.seconds = time.monotonic() - started
    return result


def run_jobs(runner: StackRunner, jobs: Sequence[Job], *, parallel: int,
             reporter: Reporter | None = None, redactor: Redactor | None = None,
             title: str = "") -> list[StackResult]:
    """Run `jobs` at most `parallel` at a time; results come back in job order."""
    reporter = reporter or NullReporter()
    redactor = redactor or Redactor()
    if not jobs:
        return []
    reporter.start(title or jobs[0].operation, len(jobs))
    by_job: dict[int, StackResult] = {}
    try:
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            futures = {pool.submit(run_one, runner, job, reporter, redactor): i
                       for i, job in enumerate(jobs)}
            for future in as_completed(futures):
                result = future.result()
                by_job[futures[future]] = result
                reporter.finished(result)
    finally:
        reporter.stop()
    return [by_job[i] for i in range(len(jobs))]


def run_waves(runner: StackRunner, waves: Sequence[Wave], *, parallel: int,
              reporter: Reporter | None = None,
              redactor: Redactor | None = None) -> list[StackResult]:
    """Waves in order; after a wave with a failure, the rest are reported as not run."""
    results: list[StackResult] = []
    failed_wave: str | None = None
    for wave in waves:
        if failed_wave is not None:
            results += [StackResult(j.stack, j.operation, ok=True, skipped=True,
                                    error=f"not run: wave {failed_wave!r} had a failure")
                        for j in wave.jobs]
            continue
        done = run_jobs(runner, wave.jobs, parallel=parallel, reporter=reporter,
                        redactor=redactor, title=wave.name)
        results += done
        if any(not r.ok for r in done):
            failed_wave = wave.name
    return results
