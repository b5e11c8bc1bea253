"""Progress on stderr: a bar with count and rate when stderr is a terminal, a plain one-line summary
otherwise, nothing with --quiet. (MEDVOL_PROGRESS_AFTER=0 shows the bar at once instead of after 1 s.)"""
from __future__ import annotations

import os
import pty
import subprocess

from conftest import medvol_binary
from dicom_fixtures import SeriesSpec, pattern, write_series


def run_with_terminal_stderr(*args, env_extra=None):
    """Runs medvol with stderr on a pseudo-terminal; returns (exit status, what stderr showed)."""
    controller, terminal = pty.openpty()
    env = {**os.environ, **(env_extra or {})}
    process = subprocess.Popen([medvol_binary(), *map(str, args)], stdout=subprocess.DEVNULL, stderr=terminal, env=env)
    os.close(terminal)
    chunks = []
    while True:
        try:
            data = os.read(controller, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(controller)
    return process.wait(), b"".join(chunks).decode(errors="replace")


def test_progress_bar_on_a_terminal(tmp_path):
    write_series(tmp_path / "dicom", SeriesSpec(values=pattern(40, 32, 32)))
    status, shown = run_with_terminal_stderr("convert", tmp_path / "dicom", tmp_path / "out.npy", env_extra={"MEDVOL_PROGRESS_AFTER": "0"})
    assert status == 0
    assert "scanning [" in shown and "40/40" in shown and "/s" in shown
    assert "decoding [" in shown
    assert "\r\x1b[K" in shown                      # the bar redraws in place and is cleared at the end
    assert "medvol: wrote " in shown                 # then the one-line summary


def test_no_bar_without_a_terminal(medvol, tmp_path):
    write_series(tmp_path / "dicom", SeriesSpec(values=pattern(5, 8, 8)))
    result = medvol("convert", tmp_path / "dicom", tmp_path / "out.npy")
    assert "\r" not in result.stderr and "[" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("medvol: wrote ") and " in " in lines[0]


def test_quiet_is_silent_even_on_a_terminal(tmp_path):
    write_series(tmp_path / "dicom", SeriesSpec(values=pattern(5, 8, 8)))
    status, shown = run_with_terminal_stderr("convert", tmp_path / "dicom", tmp_path / "out.npy", "--quiet",
                                             env_extra={"MEDVOL_PROGRESS_AFTER": "0"})
    assert status == 0 and shown == ""


def test_short_work_shows_no_bar(tmp_path):
    """Under a second of work: no bar, only the summary (the default threshold)."""
    write_series(tmp_path / "dicom", SeriesSpec(values=pattern(3, 8, 8)))
    env = {k: v for k, v in os.environ.items() if k != "MEDVOL_PROGRESS_AFTER"}
    status, shown = run_with_terminal_stderr("convert", tmp_path / "dicom", tmp_path / "out.npy", env_extra=env)
    assert status == 0 and "[" not in shown and shown.startswith("medvol: wrote ")
