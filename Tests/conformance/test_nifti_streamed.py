"""medvol's own NIfTI-1 writer and reader (issue 11), checked against SimpleITK, nibabel, gzip and dcm2niix.

    medvol convert DICOM-FOLDER out.nii[.gz] [--level N]     (streamed: slices go straight into the file)
    medvol convert in.nii[.gz] out.npy                       (read in Swift; medvol's .nii.gz in parallel)

A .nii.gz medvol writes is an ordinary gzip file of several members (independent blocks) with a final
empty member that indexes them: gzip, zlib, nibabel and SimpleITK read it as one stream.
"""
import gzip
import os
import shutil
import struct
import sys
import subprocess
import zlib

import numpy as np
import pytest

from conftest import medvol_binary, run_medvol
from dicom_fixtures import SeriesSpec, oblique_axes, pattern, write_series
from oracles import geometry_of, assert_same_geometry, load_npy_with_sidecar, sitk_series_in_folder

sitk = pytest.importorskip("SimpleITK")
nib = pytest.importorskip("nibabel")

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def oblique_series(folder, shape=(12, 40, 36), dtype=np.int16):
    row, column = oblique_axes()
    spec = SeriesSpec(values=pattern(*shape, dtype=dtype), row=tuple(row), column=tuple(column),
                      spacing=(0.7, 0.9, 2.2), origin=(-80.25, 33.5, -12.125), slope=1.0, intercept=-1024.0)
    write_series(folder, spec)
    return spec


def nibabel_as_sitk_array(path):
    """nibabel's voxels in SimpleITK's (z, y, x) order."""
    return np.asarray(nib.load(str(path)).dataobj).transpose(2, 1, 0)


def assert_nibabel_geometry(path, expected: sitk.Image):
    """nibabel's affine (RAS) against the expected image's LPS geometry."""
    affine = nib.load(str(path)).affine
    direction = np.array(expected.GetDirection()).reshape(3, 3)
    spacing = np.array(expected.GetSpacing())
    lps = np.eye(4)
    lps[:3, :3] = direction * spacing
    lps[:3, 3] = expected.GetOrigin()
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    assert np.allclose(affine, ras, atol=1e-4), (affine, ras)


@pytest.mark.parametrize("extension", ["nii", "nii.gz"])
def test_dicom_to_nifti_matches_simpleitk_and_nibabel(tmp_path, extension):
    oblique_series(tmp_path / "dicom")
    out = tmp_path / f"v.{extension}"
    run_medvol("convert", tmp_path / "dicom", out, "--quiet")
    reference = sitk_series_in_folder(tmp_path / "dicom")
    written = sitk.ReadImage(str(out))
    assert np.array_equal(sitk.GetArrayFromImage(written), sitk.GetArrayFromImage(reference))
    assert_same_geometry(geometry_of(written), geometry_of(reference), "SimpleITK reading medvol's NIfTI")
    assert np.array_equal(nibabel_as_sitk_array(out), sitk.GetArrayFromImage(reference))
    assert_nibabel_geometry(out, reference)
    header = nib.load(str(out)).header
    assert int(header["qform_code"]) == 1 and int(header["sform_code"]) == 1
    assert int(header["xyzt_units"]) == 10
    raw = gzip.decompress(out.read_bytes())[:352] if extension == "nii.gz" else out.read_bytes()[:352]
    assert struct.unpack_from("<f", raw, 108)[0] == 352.0  # vox_offset (nibabel reports it as 0 once loaded)
    assert raw[344:348] == b"n+1\x00"


def test_streamed_nifti_header_equals_the_one_medvol_writes_from_a_volume(tmp_path):
    """The streamed DICOM path and Volume.write (via .npy → .nii) give the same bytes."""
    oblique_series(tmp_path / "dicom")
    run_medvol("convert", tmp_path / "dicom", tmp_path / "direct.nii", "--quiet")
    run_medvol("convert", tmp_path / "dicom", tmp_path / "v.npy", "--quiet")
    run_medvol("convert", tmp_path / "v.npy", tmp_path / "from_npy.nii", "--quiet")
    assert (tmp_path / "direct.nii").read_bytes() == (tmp_path / "from_npy.nii").read_bytes()


def test_compressed_output_is_ordinary_gzip(tmp_path):
    spec = oblique_series(tmp_path / "dicom", shape=(20, 256, 256))
    out = tmp_path / "v.nii.gz"
    run_medvol("convert", tmp_path / "dicom", out, "--quiet")
    subprocess.run(["gzip", "-t", str(out)], check=True)
    plain = gzip.decompress(out.read_bytes())
    # zlib's streaming decoder, member after member, gives the same bytes as Python's gzip.
    data, pieces = out.read_bytes(), []
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pieces.append(inflater.decompress(data))
        data = inflater.unused_data
    assert b"".join(pieces) == plain
    assert len(pieces) > 3, "several independent members"
    assert len(plain) == 352 + spec.values.size * 2
    run_medvol("convert", tmp_path / "dicom", tmp_path / "v.nii", "--quiet")
    assert plain == (tmp_path / "v.nii").read_bytes()


def test_level_option(tmp_path):
    oblique_series(tmp_path / "dicom", shape=(16, 128, 128))
    sizes = {}
    for level in (1, 6, 12):
        out = tmp_path / f"l{level}.nii.gz"
        run_medvol("convert", tmp_path / "dicom", out, "--level", str(level), "--quiet")
        sizes[level] = out.stat().st_size
        assert gzip.decompress(out.read_bytes()) == gzip.decompress((tmp_path / "l1.nii.gz").read_bytes())
    assert sizes[1] >= sizes[6] >= sizes[12], sizes
    bad = run_medvol("convert", tmp_path / "dicom", tmp_path / "x.nii.gz", "--level", "13", check=False)
    assert bad.returncode != 0 and "--level 13" in bad.stderr
    assert not (tmp_path / "x.nii.gz").exists()


def test_default_level_is_no_larger_than_dcm2niix(tmp_path, shared_data):
    """On every real scanner series, the default .nii.gz (level chosen per volume) is no larger than the file of
    dcm2niix's default `-z y`, which holds the same voxels and is compressed by pigz at level 6 (.ci/run
    installs pigz; without it dcm2niix falls back to its internal compressor, which this does not claim)."""
    dcm2niix = shutil.which("dcm2niix", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    if dcm2niix is None:
        pytest.skip("dcm2niix not installed")
    if shutil.which("pigz") is None:
        pytest.skip("pigz not installed (.ci/run installs it): dcm2niix -z y would not use it")
    series = shared_data / "dcm_qa_ge" / "In"
    folders = sorted({p.parent for p in series.rglob("*") if p.is_file() and ".MRDC." in p.name})
    assert len(folders) >= 5
    sizes = {}
    for index, folder in enumerate(folders):
        out = tmp_path / f"d2n{index}"
        out.mkdir()
        subprocess.run([dcm2niix, "-z", "y", "-b", "n", "-f", "ref", "-o", str(out), str(folder)],
                       check=True, capture_output=True)
        references = sorted(out.glob("ref*.nii.gz"))
        assert len(references) == 1, references
        medvol_path = tmp_path / f"medvol{index}.nii.gz"
        run_medvol("convert", folder, medvol_path, "--quiet")
        sizes[folder.name] = (medvol_path.stat().st_size, references[0].stat().st_size)
    larger = {name: pair for name, pair in sizes.items() if pair[0] > pair[1]}
    assert not larger, larger


@pytest.mark.parametrize("writer", ["medvol", "nibabel", "simpleitk"])
def test_reading_nifti_gz_back_to_npy(tmp_path, writer):
    """medvol reads .nii.gz from any writer (its own in parallel, others as one stream) exactly as nibabel does."""
    oblique_series(tmp_path / "dicom", shape=(10, 64, 48))
    reference = sitk_series_in_folder(tmp_path / "dicom")
    path = tmp_path / "in.nii.gz"
    if writer == "medvol":
        run_medvol("convert", tmp_path / "dicom", path, "--quiet")
    elif writer == "simpleitk":
        sitk.WriteImage(reference, str(path), useCompression=True)
    else:
        direction = np.array(reference.GetDirection()).reshape(3, 3)
        affine = np.eye(4)
        affine[:3, :3] = LPS_TO_RAS @ direction * np.array(reference.GetSpacing())
        affine[:3, 3] = LPS_TO_RAS @ np.array(reference.GetOrigin())
        image = nib.Nifti1Image(sitk.GetArrayFromImage(reference).transpose(2, 1, 0), affine)
        image.header.set_xyzt_units("mm", "sec")
        image.set_qform(affine, code=1)
        image.set_sform(affine, code=1)
        nib.save(image, str(path))
    run_medvol("convert", path, tmp_path / "out.npy", "--quiet")
    array, info = load_npy_with_sidecar(tmp_path / "out.npy")
    assert np.array_equal(array, nibabel_as_sitk_array(path))
    assert np.array_equal(array, sitk.GetArrayFromImage(sitk.ReadImage(str(path))))
    expected = geometry_of(sitk.ReadImage(str(path)))
    assert np.allclose(info["origin"], expected["origin"], atol=1e-4)
    assert np.allclose(info["spacing"], expected["spacing"], atol=1e-6)
    assert np.allclose(np.array(info["direction"]), np.array(expected["direction"]), atol=1e-6)


def test_4d_nifti_gz_round_trip(tmp_path):
    """A 4D volume (time spacing in pixdim[4]) through .nii.gz: nibabel sees dim 4 and the same voxels."""
    array = (np.arange(3 * 4 * 20 * 24, dtype=np.int16).reshape(3, 4, 20, 24) * 7) % 1000
    image = sitk.JoinSeries([sitk.GetImageFromArray(a) for a in array])
    image.SetSpacing((0.9, 1.1, 2.5, 2.0))
    sitk.WriteImage(image, str(tmp_path / "in.mha"))
    run_medvol("convert", tmp_path / "in.mha", tmp_path / "t.nii.gz", "--quiet")
    loaded = nib.load(str(tmp_path / "t.nii.gz"))
    assert loaded.shape == (24, 20, 4, 3)
    assert float(loaded.header["pixdim"][4]) == 2.0
    assert np.array_equal(np.asarray(loaded.dataobj).transpose(3, 2, 1, 0), array)
    run_medvol("convert", tmp_path / "t.nii.gz", tmp_path / "t.npy", "--quiet")
    back, info = load_npy_with_sidecar(tmp_path / "t.npy")
    assert np.array_equal(back, array)


def test_truncated_and_damaged_nifti_gz_are_errors(tmp_path):
    oblique_series(tmp_path / "dicom", shape=(8, 256, 256))
    path = tmp_path / "v.nii.gz"
    run_medvol("convert", tmp_path / "dicom", path, "--quiet")
    data = path.read_bytes()
    for name, damaged in [("cut.nii.gz", data[: len(data) // 2]),
                          ("flipped.nii.gz", data[:4000] + bytes([data[4000] ^ 0xFF]) + data[4001:])]:
        (tmp_path / name).write_bytes(damaged)
        result = run_medvol("convert", tmp_path / name, tmp_path / f"{name}.npy", check=False)
        assert result.returncode == 1
        assert f"{tmp_path / name}:" in result.stderr
        assert not (tmp_path / f"{name}.npy").exists()


# Linux keeps a process's peak RSS across exec, so a child forked from this (large) Python process would
# report at least pytest's RSS: fork the tool from a small launcher and read the tool's own ru_maxrss.
LAUNCHER = r"""
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def peak_memory_bytes(command) -> int:
    """Runs `command` and returns its peak resident memory (its own, as wait4 reports it)."""
    launched = subprocess.run([sys.executable, "-S", "-E", "-c", LAUNCHER, *map(str, command)],
                              capture_output=True, text=True)
    assert launched.returncode == 0, launched.stderr
    return int(launched.stdout.split()[-1]) * 1024


def test_streamed_nifti_memory_is_far_below_the_volume(tmp_path):
    """DICOM → .nii.gz holds a few compressed blocks and → .nii a few slices, not the volume (104 MB here)."""
    run_medvol("phantom", tmp_path / "ct", "--size", "512,512,200", "--quiet")
    volume_bytes = 512 * 512 * 200 * 2
    for extension in ("nii.gz", "nii"):
        peak = peak_memory_bytes([medvol_binary(), "convert", tmp_path / "ct", tmp_path / f"ct.{extension}", "--quiet"])
        assert peak < 0.6 * volume_bytes, (extension, peak)
    # Reading back into a volume: the volume itself, and little more (no second copy, no whole compressed file).
    peak = peak_memory_bytes([medvol_binary(), "convert", tmp_path / "ct.nii.gz", tmp_path / "back.npy", "--quiet"])
    assert peak < 1.1 * volume_bytes + 40 * 2**20, peak
