"""Atomic and concurrent outputs (issue 12, item 6).

Every output is written under a hidden `.medvol-partial-*` folder beside it and renamed into place, creating
the final name exclusively. Shown here: SIGKILL, SIGTERM and SIGINT during a large .nii.gz and during an
archive conversion leave no partial file under a final name; SIGTERM and SIGINT remove the staging folder and
SIGKILL's is removed by the next run in that folder; of two runs racing for one output without --overwrite
exactly one wins; a full disk and a read-only folder give one clear error and leave nothing, not even an empty
folder; a failed conversion leaves no folder it created.
"""
from __future__ import annotations

import gzip
import os
import signal
import subprocess
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from conftest import medvol_binary, run_medvol
from dicom_fixtures import SeriesSpec, pattern, write_series


def staging_folders(folder: Path) -> list[Path]:
    return sorted(folder.glob(".medvol-partial-*"))


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([medvol_binary(), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def large_series(tmp_path_factory):
    """A 512×512×200 CT phantom (100 MB): its .nii.gz at level 12 takes seconds."""
    folder = tmp_path_factory.mktemp("large") / "ct"
    run_medvol("phantom", folder, "--size", "512,512,200", "--quiet")
    return folder


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Six phantom series in one folder tree."""
    root = tmp_path_factory.mktemp("archive") / "in"
    for k in range(6):
        run_medvol("phantom", root / f"s{k}", "--size", "256,256,96", "--quiet")
    return root


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_signal_during_a_large_nifti_gz_leaves_no_partial_output(large_series, tmp_path, signal_number):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "ct.nii.gz"
    process = start("convert", large_series, target, "--level", "12", "--quiet")
    # Once the staging folder holds data, the run is mid-write.
    wait_for(lambda: any(f.stat().st_size > 0 for d in staging_folders(out) for f in d.rglob("*") if f.is_file()),
             what="staged data")
    process.send_signal(signal_number)
    process.wait(timeout=30)
    assert process.returncode == -signal_number, (process.returncode, process.stderr.read())
    assert not target.exists()
    left = staging_folders(out)
    if signal_number == signal.SIGKILL:
        # SIGKILL cannot be caught: the staging folder stays until the next run in the same folder removes it.
        assert len(left) == 1
        small = write_series(tmp_path / "small", SeriesSpec(values=pattern(2, 4, 4)))[0].parent
        run_medvol("convert", small, out / "small.nii", "--quiet")
        assert staging_folders(out) == [] and sorted(os.listdir(out)) == ["small.nii"]
    else:
        assert left == [] and os.listdir(out) == []


def test_a_running_transaction_is_not_removed_by_another_run(large_series, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    process = start("convert", large_series, out / "ct.nii.gz", "--level", "12", "--quiet")
    wait_for(lambda: staging_folders(out), what="staging folder")
    small = write_series(tmp_path / "small", SeriesSpec(values=pattern(2, 4, 4)))[0].parent
    run_medvol("convert", small, out / "small.nii", "--quiet")
    assert len(staging_folders(out)) == 1, "a live run's staging folder was removed"
    assert process.wait(timeout=120) == 0, process.stderr.read()
    assert sorted(os.listdir(out)) == ["ct.nii.gz", "small.nii"]
    assert nib.load(out / "ct.nii.gz").shape == (512, 512, 200)


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_signal_during_an_archive_conversion_leaves_only_complete_outputs(archive, tmp_path, signal_number):
    out = tmp_path / "out"
    process = start("convert", archive, out, "--format", "nii.gz", "--level", "12", "--quiet")
    wait_for(lambda: out.exists() and any(".medvol-partial-" not in str(p) for p in out.rglob("*.nii.gz")), what="a first output")
    process.send_signal(signal_number)
    process.wait(timeout=30)
    assert process.returncode == -signal_number
    finals = sorted(p for p in out.rglob("*.nii.gz") if ".medvol-partial-" not in str(p))
    assert 1 <= len(finals) < 6
    for path in finals:
        with gzip.open(path) as stream:          # a complete gzip stream, CRC checked
            stream.read()
        assert nib.load(path).shape == (256, 256, 96)
    left = [p for p in out.rglob(".medvol-partial-*")]
    assert (left == []) if signal_number != signal.SIGKILL else (len(left) <= 1)


def test_two_runs_racing_for_one_output_exactly_one_wins(tmp_path):
    series = write_series(tmp_path / "in", SeriesSpec(values=pattern(40, 64, 64)))[0].parent
    for trial in range(5):
        target = tmp_path / f"race{trial}.nii.gz"
        runs = [start("convert", series, target, "--quiet") for _ in range(2)]
        results = [(run.wait(timeout=60), run.stderr.read()) for run in runs]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 1], results
        loser = next(message for code, message in results if code == 1)
        assert loser.strip() == f"medvol: error: {target}: already exists (use --overwrite to replace it)"
        assert nib.load(target).shape == (64, 64, 40)
        assert staging_folders(tmp_path) == []


@pytest.fixture
def small_tmpfs(tmp_path):
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    completed = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if completed.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {completed.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_gives_a_clear_error_and_leaves_nothing(small_tmpfs, tmp_path):
    series = write_series(tmp_path / "in", SeriesSpec(values=pattern(40, 64, 64)))[0].parent   # 320 KiB of voxels
    target = small_tmpfs / "new" / "deeper" / "ct.nii"
    (small_tmpfs / "filler").write_bytes(b"\0" * (900 * 1024))
    result = run_medvol("convert", series, target, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == f"medvol: error: {target}: write failed: No space left on device", result.stderr
    assert sorted(os.listdir(small_tmpfs)) == ["filler"], "left behind on the full disk"


def test_a_read_only_folder_gives_a_clear_error_and_leaves_nothing(small_tmpfs, tmp_path):
    series = write_series(tmp_path / "in", SeriesSpec(values=pattern(2, 8, 8)))[0].parent
    (small_tmpfs / "existing").mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    target = small_tmpfs / "existing" / "sub" / "ct.nii.gz"
    result = run_medvol("convert", series, target, check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"medvol: error: {small_tmpfs}/existing/sub: ") and "Read-only file system" in lines[0], result.stderr
    assert os.listdir(small_tmpfs / "existing") == []


def test_a_failed_conversion_leaves_no_folder_it_created(tmp_path):
    broken = tmp_path / "broken.nii"
    broken.write_bytes(b"\x5c\x01\x00\x00" + b"\0" * 100)     # a NIfTI header cut short
    target = tmp_path / "new" / "deeper" / "out.mhd"
    result = run_medvol("convert", broken, target, check=False)
    assert result.returncode == 1 and result.stderr.startswith(f"medvol: error: {broken}: ")
    assert not (tmp_path / "new").exists()
    # An archive conversion whose every stack fails leaves no output folder either.
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "notes.txt").write_text("no DICOM here")
    result = run_medvol("convert", empty, tmp_path / "archive-out", "--format", "nii", check=False)
    assert result.returncode == 1 and not (tmp_path / "archive-out").exists()
