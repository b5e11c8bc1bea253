"""Shared fixtures for the conformance suite: medvol is run as a command and its outputs are read by
independent readers (SimpleITK, nibabel, pydicom, NumPy)."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"


def medvol_binary() -> str:
    path = os.environ.get("MEDVOL") or str(ROOT / ".build" / "debug" / "medvol")
    if not os.path.exists(path):
        pytest.exit(f"medvol binary not found at {path}: run `swift build` first", returncode=2)
    return path


class MedvolRun:
    """Result of one medvol invocation."""

    def __init__(self, completed: subprocess.CompletedProcess):
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self):
        return f"<medvol exit {self.returncode}\nstdout: {self.stdout}\nstderr: {self.stderr}>"


def run_medvol(*args, check=True, timeout=600, env=None) -> MedvolRun:
    """`env`: variables set for this run on top of the current environment."""
    completed = subprocess.run([medvol_binary(), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                               env={**os.environ, **env} if env else None)
    result = MedvolRun(completed)
    if check and result.returncode != 0:
        raise AssertionError(f"medvol {' '.join(map(str, args))} failed: {result}")
    return result


@pytest.fixture
def medvol():
    """Call as medvol("convert", src, dst) → MedvolRun; check=False to allow failure."""
    return run_medvol


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not present at {SHARED_DATA}")
    return SHARED_DATA
