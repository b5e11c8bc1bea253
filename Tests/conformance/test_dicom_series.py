"""medvol against SimpleITK on DICOM series: real scanner data and series written by pydicom that provoke
the classic mistakes (oblique planes, shuffled names, instance numbers against position, two series in a
folder, a localizer inside a series, CT stored unsigned with intercept −1024). Same voxels, same geometry
to 1e-4 mm / 1e-6, and `np.load` of medvol's .npy equals `GetArrayFromImage`."""
from __future__ import annotations


import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from dicom_fixtures import SeriesSpec, oblique_axes, pattern, shuffled_names, write_series
from oracles import assert_same_geometry, assert_same_image, geometry_of, load_npy_with_sidecar, sitk_series, sitk_series_in_folder


def convert_and_compare(medvol, tmp_path, source, expected: sitk.Image, *extra, expected_dtype=None):
    """Converts `source` to .mhd and .npy with medvol; both must equal `expected` (SimpleITK's reading)."""
    mhd = tmp_path / "out.mhd"
    npy = tmp_path / "out.npy"
    medvol("convert", source, mhd, *extra)
    medvol("convert", source, npy, *extra)
    assert_same_image(sitk.ReadImage(str(mhd)), expected, "mhd")
    array, sidecar = load_npy_with_sidecar(npy)
    assert np.array_equal(array, sitk.GetArrayFromImage(expected)), "np.load differs from GetArrayFromImage"
    assert_same_geometry(sidecar, geometry_of(expected), "npy sidecar")
    if expected_dtype:
        assert array.dtype == np.dtype(expected_dtype)
        assert sidecar["pixelType"] == expected_dtype
    info = medvol("info", source, "--json").json()
    assert_same_geometry(info, geometry_of(expected), "info --json")
    return array, sidecar


# MARK: Real scanner data

def test_ge_3d_t1_matches_simpleitk(medvol, tmp_path, shared_data):
    folder = shared_data / "dcm_qa_ge" / "In" / "05_3D_Ax_T1_MP_RAGE_R22"
    expected = sitk_series_in_folder(folder)
    array, sidecar = convert_and_compare(medvol, tmp_path, folder, expected, expected_dtype="int16")
    assert array.shape == (130, 256, 256)
    assert sidecar["orientation"] == "LPS"


@pytest.mark.parametrize("series", ["01_Ax_DWI_TENSOR_R2", "02_Ax_DWI_TENSOR_R3", "03_Ax_DWI_TENSOR_R1p5", "04_Ax_DWI_TENSOR_R2MB2"])
def test_ge_diffusion_each_volume_matches_simpleitk(medvol, tmp_path, shared_data, series):
    """A 4D series: SimpleITK cannot read it as one stack, but each volume t (the files of one
    acquisition, one per position) it reads as a 3D stack; medvol's volume t must equal it."""
    folder = shared_data / "dcm_qa_ge" / "In" / series
    npy = tmp_path / "dwi.npy"
    medvol("convert", folder, npy)
    array, sidecar = load_npy_with_sidecar(npy)
    assert array.ndim == 4 and len(sidecar["size"]) == 4
    headers = [(pydicom.dcmread(p, stop_before_pixels=True), p) for p in sorted(folder.iterdir())]
    normal = np.cross(*np.array(headers[0][0].ImageOrientationPatient, dtype=float).reshape(2, 3))
    by_position = {}
    for header, path in headers:
        distance = round(float(np.dot(np.array(header.ImagePositionPatient, dtype=float), normal)), 3)
        by_position.setdefault(distance, []).append((int(header.InstanceNumber), path))
    positions = sorted(by_position)
    nt = len(by_position[positions[0]])
    assert array.shape[0] == nt and array.shape[1] == len(positions)
    for t in range(nt):
        files = [sorted(by_position[p])[t][1] for p in positions]
        expected = sitk_series(files)
        assert np.array_equal(array[t], sitk.GetArrayFromImage(expected)), f"volume {t} differs"
        assert_same_geometry({**sidecar, "size": sidecar["size"][:3]}, geometry_of(expected), f"volume {t}")


# MARK: Generated series

def test_oblique_series(medvol, tmp_path):
    row, column = oblique_axes()
    spec = SeriesSpec(values=pattern(12, 20, 24), row=row, column=column, origin=(12.5, -40.25, 88.0), spacing=(0.7, 0.9, 1.7))
    files = write_series(tmp_path / "dicom", spec)
    expected = sitk_series(files)
    _, sidecar = convert_and_compare(medvol, tmp_path, tmp_path / "dicom", expected, expected_dtype="int16")
    assert np.abs(np.array(sidecar["direction"]).reshape(3, 3) - spec.direction()).max() < 1e-6


def test_shuffled_file_names(medvol, tmp_path):
    spec = SeriesSpec(values=pattern(15, 8, 9), file_names=shuffled_names(15))
    files = write_series(tmp_path / "dicom", spec)
    convert_and_compare(medvol, tmp_path, tmp_path / "dicom", sitk_series(files))


def test_instance_numbers_against_position(medvol, tmp_path):
    """InstanceNumber decreases as position increases: medvol must still sort by position."""
    spec = SeriesSpec(values=pattern(10, 6, 7), instance_numbers=list(range(10, 0, -1)), file_names=[f"x{n:02d}.dcm" for n in range(10, 0, -1)])
    files = write_series(tmp_path / "dicom", spec)
    array, _ = convert_and_compare(medvol, tmp_path, tmp_path / "dicom", sitk_series(files))
    assert np.array_equal(array, spec.values)


def test_two_series_in_one_folder(medvol, tmp_path):
    first = SeriesSpec(values=pattern(6, 10, 12), series_number=3, description="first")
    second = SeriesSpec(values=pattern(9, 10, 12, seed=11), series_number=5, description="second", spacing=(0.5, 0.5, 1.0),
                        file_names=[f"S5_{k}.dcm" for k in range(9)])
    write_series(tmp_path / "dicom", first)
    write_series(tmp_path / "dicom", second)
    listing = medvol("series", tmp_path / "dicom", "--json").json()
    assert [s["seriesNumber"] for s in listing["stacks"]] == [3, 5]
    assert [s["imageCount"] for s in listing["stacks"]] == [6, 9]

    # Without --series, converting to one file fails and lists the stacks.
    failed = medvol("convert", tmp_path / "dicom", tmp_path / "x.mhd", check=False)
    assert failed.returncode == 1
    assert "2 stacks" in failed.stderr and "--series" in failed.stderr and second.series_uid in failed.stderr
    assert not (tmp_path / "x.mhd").exists()

    for selector, spec in (("1", first), (second.series_uid, second)):
        out = tmp_path / f"sel_{spec.series_number}.npy"
        medvol("convert", tmp_path / "dicom", out, "--series", selector)
        expected = sitk_series_in_folder(tmp_path / "dicom", spec.series_uid)
        array, sidecar = load_npy_with_sidecar(out)
        assert np.array_equal(array, sitk.GetArrayFromImage(expected))
        assert_same_geometry(sidecar, geometry_of(expected))
        assert sidecar["seriesInstanceUID"] == spec.series_uid


def test_localizer_inside_a_series_is_its_own_stack(medvol, tmp_path):
    axial = SeriesSpec(values=pattern(8, 10, 10))
    axial_files = write_series(tmp_path / "dicom", axial)
    scout = SeriesSpec(values=pattern(1, 10, 10, seed=5), series_uid=axial.series_uid, study_uid=axial.study_uid,
                       row=(1.0, 0.0, 0.0), column=(0.0, 0.0, -1.0), image_type="ORIGINAL\\PRIMARY\\LOCALIZER",
                       instance_numbers=[99], file_names=["scout.dcm"])
    write_series(tmp_path / "dicom", scout)
    listing = medvol("series", tmp_path / "dicom", "--json").json()
    assert [s["imageCount"] for s in listing["stacks"]] == [8, 1]
    assert "split by orientation" in listing["stacks"][1]["formation"]
    assert listing["stacks"][1]["plane"] == "coronal"
    out = tmp_path / "axial.npy"
    medvol("convert", tmp_path / "dicom", out, "--series", "1")
    array, sidecar = load_npy_with_sidecar(out)
    expected = sitk_series(axial_files)
    assert np.array_equal(array, sitk.GetArrayFromImage(expected))
    assert_same_geometry(sidecar, geometry_of(expected))


def test_ct_stored_unsigned_with_intercept_becomes_int16(medvol, tmp_path):
    hu = pattern(7, 16, 16, dtype=np.int32, low=-1024, span=4096)
    hu[0, 0, 0], hu[-1, -1, -1] = -1024, 3071          # the whole 12-bit range
    stored = (hu + 1024).astype(np.uint16)
    spec = SeriesSpec(values=stored, intercept=-1024, slope=1, bits_stored=12)
    files = write_series(tmp_path / "dicom", spec)
    array, sidecar = convert_and_compare(medvol, tmp_path, tmp_path / "dicom", sitk_series(files), expected_dtype="int16")
    assert np.array_equal(array, hu)
    assert array.min() == -1024 and array.max() == 3071


def test_implicit_vr_series(medvol, tmp_path):
    from pydicom.uid import ImplicitVRLittleEndian
    spec = SeriesSpec(values=pattern(5, 9, 11), transfer_syntax=ImplicitVRLittleEndian)
    files = write_series(tmp_path / "dicom", spec)
    convert_and_compare(medvol, tmp_path, tmp_path / "dicom", sitk_series(files))


# MARK: Round trips

def test_round_trip_dicom_mhd_npy_mha_npy(medvol, tmp_path):
    row, column = oblique_axes()
    spec = SeriesSpec(values=pattern(9, 13, 17), row=row, column=column, origin=(-3.25, 7.5, 101.0))
    write_series(tmp_path / "dicom", spec)
    steps = [tmp_path / "dicom", tmp_path / "a.mhd", tmp_path / "b.npy", tmp_path / "c.mha", tmp_path / "d.npy"]
    for source, target in zip(steps, steps[1:]):
        medvol("convert", source, target)
    first, first_geometry = load_npy_with_sidecar(tmp_path / "b.npy")
    last, last_geometry = load_npy_with_sidecar(tmp_path / "d.npy")
    assert np.array_equal(first, last) and first.dtype == last.dtype
    assert np.array_equal(first, spec.values)
    for key in ("size", "spacing", "origin", "direction"):
        assert first_geometry[key] == last_geometry[key], key
    assert_same_image(sitk.ReadImage(str(tmp_path / "c.mha")), sitk.ReadImage(str(tmp_path / "a.mhd")), "mha vs mhd")


# MARK: The command line's discipline

@pytest.mark.parametrize("kind", ["empty", "random", "truncated", "no-dicom-folder"])
def test_bad_input_is_a_clear_error_with_no_output(medvol, tmp_path, kind):
    if kind == "empty":
        bad = tmp_path / "empty.dcm"
        bad.write_bytes(b"")
    elif kind == "random":
        bad = tmp_path / "random.dcm"
        bad.write_bytes(np.random.default_rng(1).integers(0, 256, 10000, dtype=np.uint8).tobytes())
    elif kind == "truncated":
        files = write_series(tmp_path / "src", SeriesSpec(values=pattern(1, 32, 32)))
        bad = tmp_path / "truncated.dcm"
        bad.write_bytes(files[0].read_bytes()[:-100])
    else:
        bad = tmp_path / "folder"
        bad.mkdir()
        (bad / "readme.txt").write_text("not an image")
        (bad / "data.bin").write_bytes(bytes(range(256)))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = medvol("convert", bad, out_dir / "x.mhd", check=False)
    assert result.returncode == 1, result
    assert result.stderr.startswith("medvol: error: "), result.stderr
    assert str(bad) in result.stderr
    assert "Traceback" not in result.stderr and "Fatal error" not in result.stderr
    assert list(out_dir.iterdir()) == [], "no output (not even a partial or hidden one) may be left behind"


def test_existing_output_is_not_overwritten(medvol, tmp_path):
    write_series(tmp_path / "dicom", SeriesSpec(values=pattern(3, 4, 5)))
    out = tmp_path / "out.npy"
    out.write_bytes(b"precious")
    result = medvol("convert", tmp_path / "dicom", out, check=False)
    assert result.returncode == 1 and "--overwrite" in result.stderr
    assert out.read_bytes() == b"precious"
    medvol("convert", tmp_path / "dicom", out, "--overwrite")
    assert np.load(out).shape == (3, 4, 5)


def test_bad_usage_exits_2(medvol, tmp_path):
    assert medvol("convert", check=False).returncode == 2
    assert medvol("convert", tmp_path, tmp_path / "out.unknown", check=False).returncode == 2
    assert medvol("frobnicate", check=False).returncode == 2
    result = medvol("convert", tmp_path, tmp_path / "x.mhd", "--format", "jpeg2000", check=False)
    assert result.returncode == 2 and result.stderr.startswith("medvol: error: ")
