"""Builds started from the page: one background thread per build, their state kept for the status call."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_KEPT = 50  # finished jobs remembered for status calls


@dataclass
class BuildJob:
    id: str
    index: str
    docs: list[str]
    state: str = "running"  # running | done | failed
    started: float = field(default_factory=time.time)
    finished: float | None = None
    report: dict[str, Any] | None = None
    error: str | None = None
    stage: str = "starting"  # starting | reading (files) | embedding (chunks)
    done: int = 0
    total: int = 0

    def step(self, stage: str, done: int, total: int) -> None:
        """The build pipeline's ``progress`` callback."""
        self.stage, self.done, self.total = stage, int(done), int(total)

    @property
    def progress(self) -> float:
        """Share of the current stage done; 1 when finished."""
        if self.state != "running":
            return 1.0
        return self.done / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        end = self.finished or time.time()
        return {
            "id": self.id,
            "index": self.index,
            "docs": self.docs,
            "state": self.state,
            "elapsed_s": round(end - self.started, 2),
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
            "progress": round(self.progress, 4),
            "report": self.report,
            "error": self.error,
        }


class BuildJobs:
    """At most one running build per index; others are refused so two writers never race."""

    def __init__(self) -> None:
        self._jobs: dict[str, BuildJob] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def running(self, index: str) -> BuildJob | None:
        with self._lock:
            return next((j for j in self._jobs.values() if j.index == index and j.state == "running"), None)

    def start(
        self, index: str, docs: list[str], work: Callable[[BuildJob], dict[str, Any]]
    ) -> BuildJob | None:
        """Run ``work(job)`` in a thread (it reports progress through ``job.step``); None when a
        build of ``index`` is already running."""
        with self._lock:
            if any(j.index == index and j.state == "running" for j in self._jobs.values()):
                return None
            job = BuildJob(id=str(next(self._ids)), index=index, docs=docs)
            self._jobs[job.id] = job
            self._trim()
        threading.Thread(target=self._run, args=(job, work), name=f"leann-build-{index}", daemon=True).start()
        return job

    def _run(self, job: BuildJob, work: Callable[[BuildJob], dict[str, Any]]) -> None:
        try:
            report = work(job)
            job.report, job.state = report, "done"
        except Exception as e:  # shown on the page; the server keeps running
            job.error, job.state = f"{type(e).__name__}: {e}" if not isinstance(e, ValueError) else str(e), "failed"
        finally:
            job.finished = time.time()

    def get(self, job_id: str) -> BuildJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[BuildJob]:
        with self._lock:
            return list(self._jobs.values())

    def _trim(self) -> None:
        done = [k for k, j in self._jobs.items() if j.state != "running"]
        for k in done[: max(0, len(self._jobs) - MAX_KEPT)]:
            del self._jobs[k]
