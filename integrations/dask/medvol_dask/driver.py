"""The driver: reads an archive index (SQLite, schema in medvol's docs/archive-index.md), submits one Dask
task per stack or per batch of small stacks, each running `medvol convert --index INDEX OUTDIR --format F
--series KEYS --resume` on a worker, and records in the index what medvol itself could not (a task whose
process was killed, or that never ran).

medvol writes each stack's result into the index's `results` table itself (WAL, busy timeout), so workers
need the index and the archive on a file system they share with the driver (NFS, Lustre, GPFS...).
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

#: medvol's exit statuses: 0 every stack converted, 1 none, 3 some converted and some failed (2: bad usage).
EXIT_ALL_CONVERTED, EXIT_NONE_CONVERTED, EXIT_USAGE, EXIT_SOME_FAILED = 0, 1, 2, 3


@dataclass(frozen=True)
class StackTask:
    """The stacks one task converts: their keys (`SeriesInstanceUID/ORDINAL`) and image count."""
    keys: tuple
    images: int


@dataclass
class ArchiveRun:
    """What a run did: stacks converted now, already converted before (skipped by --resume), failed."""
    converted: int = 0
    already_converted: int = 0
    failed: dict = field(default_factory=dict)      # key -> error line
    tasks: int = 0
    seconds: float = 0.0

    @property
    def exit_status(self) -> int:
        """medvol's convention: 0 all converted, 3 some failed, 1 none converted."""
        if not self.failed:
            return EXIT_ALL_CONVERTED
        return EXIT_SOME_FAILED if self.converted + self.already_converted else EXIT_NONE_CONVERTED


def _connect(index: str) -> sqlite3.Connection:
    connection = sqlite3.connect(index, timeout=60)
    connection.execute("PRAGMA busy_timeout = 60000")
    return connection


def read_stacks(index: str) -> list:
    """(key, image_count, problem) of every stack, in listing order."""
    with _connect(index) as db:
        return db.execute("SELECT key, image_count, problem FROM stacks ORDER BY position").fetchall()


def plan_tasks(stacks: Iterable, batch_images: int = 0) -> list:
    """One task per stack, or (batch_images > 0) stacks grouped in listing order until a task holds at
    least batch_images images: small stacks then cost one medvol start per batch, not per stack."""
    tasks, keys, images = [], [], 0
    for key, count, _problem in stacks:
        keys.append(key)
        images += count
        if batch_images <= 0 or images >= batch_images:
            tasks.append(StackTask(tuple(keys), images))
            keys, images = [], 0
    if keys:
        tasks.append(StackTask(tuple(keys), images))
    return tasks


def run_medvol_task(medvol: str, index: str, outdir: str, fmt: str, keys: Sequence[str],
                    extra: Sequence[str] = (), resume: bool = True, timeout: Optional[float] = None) -> dict:
    """Runs on a worker: `medvol convert --index` for `keys`. Returns the exit status and stderr."""
    command = [medvol, "convert", "--index", index, outdir, "--format", fmt, "--series", ",".join(keys), *extra]
    if resume:
        command.append("--resume")
    completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return {"keys": list(keys), "returncode": completed.returncode, "stderr": completed.stderr}


def _results(index: str, keys: Sequence[str]) -> dict:
    with _connect(index) as db:
        marks = ",".join("?" * len(keys))
        return {key: (status, error) for key, status, error in
                db.execute(f"SELECT stack_key, status, error FROM results WHERE stack_key IN ({marks})", list(keys))}


def _record_failure(index: str, keys: Sequence[str], fmt: str, reason: str) -> None:
    """Marks as failed the stacks of a task that ended without medvol recording them (killed, lost worker)."""
    with _connect(index) as db:
        digests = dict(db.execute(f"SELECT key, source_digest FROM stacks WHERE key IN ({','.join('?' * len(keys))})", list(keys)))
        db.executemany(
            "INSERT OR REPLACE INTO results (stack_key, status, output, format, source_digest, warnings, error, finished_at) "
            "VALUES (?, 'failed', '', ?, ?, '[]', ?, ?)",
            [(key, fmt, digests.get(key, ""), reason, int(time.time())) for key in keys])


def convert_archive(client, index: str, outdir: str, fmt: str, medvol: str = "medvol", batch_images: int = 0,
                    resume: bool = True, extra: Sequence[str] = (), progress: bool = False,
                    timeout: Optional[float] = None, log=None) -> ArchiveRun:
    """Converts every stack of `index` into `outdir` on the cluster `client` (a `distributed.Client`).

    A failed stack is reported (in the returned run and, through `log`, as it happens) and the others go
    on. `progress` draws a progress bar on stderr as tasks finish; the dashboard (client.dashboard_link)
    shows the tasks.
    """
    from distributed import as_completed

    started = time.perf_counter()
    index, outdir = str(index), str(outdir)
    tasks = plan_tasks(read_stacks(index), batch_images)
    futures = {}
    for task in tasks:
        future = client.submit(run_medvol_task, medvol, index, outdir, fmt, task.keys, tuple(extra), resume, timeout,
                               key=f"medvol-convert-{task.keys[0]}", pure=False)
        futures[future] = task
    run = ArchiveRun(tasks=len(tasks))
    total = sum(len(task.keys) for task in tasks)
    for done, future in enumerate(as_completed(futures), start=1):
        task = futures[future]
        try:
            outcome = future.result()
            returncode, stderr = outcome["returncode"], outcome["stderr"]
        except Exception as error:      # the worker died, the process timed out, ...
            returncode, stderr = None, f"task failed: {type(error).__name__}: {error}"
        if returncode not in (EXIT_ALL_CONVERTED, EXIT_NONE_CONVERTED, EXIT_SOME_FAILED):
            reason = stderr.strip().splitlines()[-1] if stderr.strip() else f"medvol exited with status {returncode}"
            _record_failure(index, task.keys, fmt, reason)
        recorded = _results(index, task.keys)
        for key in task.keys:
            status, error = recorded.get(key, ("failed", "no result recorded"))
            if status == "converted":
                run.converted += 1
            else:
                run.failed[key] = error
                if log:
                    if progress:
                        print("\r\033[K", end="", file=sys.stderr)     # the bar's line cleared, redrawn below
                    log(f"failed: {key}: {error}")
        # Stacks skipped by --resume are recorded as converted by an earlier run.
        if resume and returncode in (EXIT_ALL_CONVERTED, EXIT_SOME_FAILED):
            skipped = _already_converted(stderr)
            run.converted -= skipped
            run.already_converted += skipped
        if progress:
            # A bar as tasks finish (Dask's own text bar blocks until all are done, which would hold back the
            # failure reports); the dashboard shows the tasks themselves.
            finished = run.converted + run.already_converted + len(run.failed)
            filled = int(40 * finished / max(1, total))
            end = "\n" if done == len(tasks) else ""
            print(f"\r[{'#' * filled}{' ' * (40 - filled)}] {finished}/{total} stacks, {len(run.failed)} failed",
                  end=end, file=sys.stderr, flush=True)
    run.seconds = time.perf_counter() - started
    return run


def _already_converted(stderr: str) -> int:
    """The "N already converted" count of medvol's summary line (0 when quiet or none)."""
    for line in stderr.splitlines():
        if line.startswith("medvol: converted ") and " already converted" in line:
            before = line.split(" already converted")[0]
            return int(before.rsplit(" ", 1)[-1])
    return 0
