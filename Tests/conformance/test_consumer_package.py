"""A Swift package that depends on the `MedVol` product alone (Tests/ConsumerPackage) builds and runs:
from async code it loads a series — uncompressed, and JPEG-LS (decoded in worker processes that are the
consumer's own executable, since it ships no medvol-codec-worker) — and writes .nii.gz and .npy that
SimpleITK reads back equal to its own reading of the series. No environment variable is set, no
library is copied beside the program."""
import os
import pathlib
import subprocess

import numpy as np
import pytest
import SimpleITK as sitk

from conftest import ROOT, run_medvol
from pixel_fixtures import GDCMCONV

PACKAGE = ROOT / "Tests" / "ConsumerPackage"
SCRATCH = ROOT / ".build-consumer"


def clean_environment() -> dict:
    """The environment without any MEDVOL_ variable."""
    return {key: value for key, value in os.environ.items() if not key.startswith("MEDVOL")}


@pytest.fixture(scope="module")
def ct2nii() -> pathlib.Path:
    built = subprocess.run(["swift", "build", "--package-path", str(PACKAGE), "--scratch-path", str(SCRATCH)],
                           capture_output=True, text=True, timeout=1800, env=clean_environment())
    assert built.returncode == 0, built.stdout + built.stderr
    binary = SCRATCH / "debug" / "ct2nii"
    assert binary.exists()
    folder = binary.resolve().parent
    # Nothing beside it to load: the bridge is linked in, and there is no worker program.
    assert not (folder / "libMedVolBridge.so").exists()
    assert not (folder / "medvol-codec-worker").exists()
    return binary


def phantom_series(folder: pathlib.Path, transfer: str) -> pathlib.Path:
    series = folder / "plain"
    run_medvol("phantom", series, "--size", "48,40,9", "--quiet")
    if transfer == "plain":
        return series
    compressed = folder / transfer
    compressed.mkdir()
    for path in sorted(series.iterdir()):
        subprocess.run([GDCMCONV, "--jpegls", str(path), str(compressed / path.name)], check=True, capture_output=True)
    return compressed


def assert_same_image(image: sitk.Image, reference: sitk.Image):
    assert image.GetSize() == reference.GetSize()
    np.testing.assert_allclose(image.GetSpacing(), reference.GetSpacing(), atol=1e-5)
    np.testing.assert_allclose(image.GetOrigin(), reference.GetOrigin(), atol=1e-5)
    np.testing.assert_allclose(image.GetDirection(), reference.GetDirection(), atol=1e-5)
    assert np.array_equal(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(reference))


@pytest.mark.parametrize("transfer", ["plain", "jpegls"])
def test_a_package_depending_on_the_medvol_product_alone_converts_a_series(ct2nii, tmp_path, transfer):
    series = phantom_series(tmp_path, transfer)
    stem = tmp_path / "out" / "ct"
    stem.parent.mkdir()
    # A variable that once turned any MedVol program into a decoder changes nothing now.
    environment = {**clean_environment(), "MEDVOL_CODEC_WORKER": "1"}
    run = subprocess.run([str(ct2nii), str(series), str(stem)], capture_output=True, text=True, timeout=600, env=environment)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = dict(line.split(": ", 1) for line in run.stdout.splitlines())
    assert "decoding" in lines["stages"].split(",")
    assert lines["wrote"].split() == [f"{stem}.nii.gz", f"{stem}.npy", f"{stem}.json"]
    assert lines["streamed"] == "true"

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(series)))
    reference = reader.Execute()
    assert_same_image(sitk.ReadImage(f"{stem}.nii.gz"), reference)
    assert np.array_equal(np.load(f"{stem}.npy"), sitk.GetArrayFromImage(reference))


def test_the_consumer_fails_with_a_message_naming_the_file(ct2nii, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    series = phantom_series(tmp_path, "jpegls")
    for path in sorted(series.iterdir()):
        data = bytearray(path.read_bytes())
        (broken / path.name).write_bytes(bytes(data[: len(data) - 200]))   # every JPEG-LS stream cut short
    run = subprocess.run([str(ct2nii), str(broken), str(tmp_path / "x")], capture_output=True, text=True, timeout=600,
                         env=clean_environment())
    assert run.returncode == 1
    assert run.stdout.startswith("ct2nii: error: ") and str(broken) in run.stdout
    assert not list(tmp_path.glob("x*"))
