"""NIfTI-1 pairs (`.hdr` header with magic "ni1", voxels in `.img`) written and read in Swift (issue 11),
checked against SimpleITK and nibabel both ways; Analyze 7.5 `.hdr` files still read through ITK.

    medvol convert DICOM-FOLDER out.hdr        (streamed: slices go straight into out.img, out.hdr last)
    medvol convert in.hdr|in.img out.npy
"""
import struct

import numpy as np
import pytest

from conftest import run_medvol
from oracles import geometry_of, assert_same_geometry, sitk_series_in_folder
from test_nifti_streamed import assert_nibabel_geometry, nibabel_as_sitk_array, oblique_series

sitk = pytest.importorskip("SimpleITK")
nib = pytest.importorskip("nibabel")


def test_dicom_to_pair_matches_simpleitk_and_nibabel(tmp_path):
    oblique_series(tmp_path / "dicom")
    out = tmp_path / "v.hdr"
    run_medvol("convert", tmp_path / "dicom", out, "--quiet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dicom", "v.hdr", "v.img"]
    reference = sitk_series_in_folder(tmp_path / "dicom")
    written = sitk.ReadImage(str(out))
    assert np.array_equal(sitk.GetArrayFromImage(written), sitk.GetArrayFromImage(reference))
    assert_same_geometry(geometry_of(written), geometry_of(reference), "SimpleITK reading medvol's .hdr/.img")
    image = nib.load(str(out))
    assert type(image) is nib.Nifti1Pair
    assert np.array_equal(nibabel_as_sitk_array(out), sitk.GetArrayFromImage(reference))
    assert_nibabel_geometry(out, reference)
    header = out.read_bytes()
    assert len(header) == 352 and header[344:348] == b"ni1\x00"
    assert struct.unpack_from("<f", header, 108)[0] == 0.0  # vox_offset: the voxels start the .img
    assert (tmp_path / "v.img").stat().st_size == sitk.GetArrayFromImage(written).nbytes == 12 * 40 * 36 * 2


def test_streamed_pair_equals_the_pair_written_from_a_volume_and_by_itk(tmp_path):
    """DICOM → .hdr (streamed), .npy → .hdr (Volume.write) and SimpleITK's WriteImage give the same bytes."""
    oblique_series(tmp_path / "dicom")
    run_medvol("convert", tmp_path / "dicom", tmp_path / "direct.hdr", "--quiet")
    run_medvol("convert", tmp_path / "dicom", tmp_path / "v.npy", "--quiet")
    run_medvol("convert", tmp_path / "v.npy", tmp_path / "from_npy.hdr", "--quiet")
    sitk.WriteImage(sitk.ReadImage(str(tmp_path / "direct.hdr")), str(tmp_path / "itk.hdr"))
    for extension in ("hdr", "img"):
        direct = (tmp_path / f"direct.{extension}").read_bytes()
        assert direct == (tmp_path / f"from_npy.{extension}").read_bytes()
        if extension == "img":
            assert direct == (tmp_path / "itk.img").read_bytes()
        else:  # SimpleITK re-derives the forms from its float32 reading: only their last bits may differ
            itk = (tmp_path / "itk.hdr").read_bytes()
            assert all(256 <= i < 344 for i in range(352) if direct[i] != itk[i])
            ours, theirs = (np.frombuffer(h[256:344], dtype="<f4") for h in (direct, itk))
            assert np.allclose(ours, theirs, rtol=0, atol=1e-5)


def test_four_dimensional_dicom_to_pair(tmp_path, shared_data):
    """A GE diffusion series (several volumes per position) → .hdr: dim[4] and pixdim[4] as in .nii."""
    folder = shared_data / "dcm_qa_ge" / "In" / "01_Ax_DWI_TENSOR_R2"
    run_medvol("convert", folder, tmp_path / "dwi.hdr", "--quiet")
    run_medvol("convert", folder, tmp_path / "dwi.nii", "--quiet")
    pair, single = nib.load(str(tmp_path / "dwi.hdr")), nib.load(str(tmp_path / "dwi.nii"))
    assert pair.shape == single.shape and len(pair.shape) == 4 and pair.shape[3] > 1
    assert np.array_equal(np.asarray(pair.dataobj), np.asarray(single.dataobj))
    assert np.array_equal(pair.affine, single.affine)
    assert pair.header["pixdim"][4] == single.header["pixdim"][4]
    pair_bytes, single_bytes = (tmp_path / "dwi.hdr").read_bytes(), (tmp_path / "dwi.nii").read_bytes()[:352]
    assert [i for i in range(352) if pair_bytes[i] != single_bytes[i]] == [110, 111, 345]  # vox_offset 352.0 → 0.0, magic n+1 → ni1


@pytest.mark.parametrize("writer", ["simpleitk", "nibabel-scaled", "nibabel-big-endian"])
def test_reading_pairs_from_other_writers(tmp_path, writer):
    """medvol reads pairs from SimpleITK and nibabel (scaled, big endian) as SimpleITK does, from either name."""
    rng = np.random.default_rng(7)
    values = rng.integers(-1000, 3000, size=(9, 20, 17), dtype=np.int16)  # (z, y, x)
    path = tmp_path / "in.hdr"
    if writer == "simpleitk":
        image = sitk.GetImageFromArray(values)
        image.SetSpacing((0.8, 0.6, 2.5))
        image.SetOrigin((10.0, -20.0, 30.0))
        image.SetDirection((0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0))
        sitk.WriteImage(image, str(path))
    else:
        affine = np.array([[-0.8, 0, 0, 12.5], [0, 0, 2.5, -7.0], [0, 0.6, 0, 3.25], [0, 0, 0, 1]])
        header = nib.Nifti1Header(endianness=">" if writer == "nibabel-big-endian" else "<")
        pair = nib.Nifti1Pair(values.transpose(2, 1, 0), affine, header)
        pair.set_qform(affine, code=1)
        pair.set_sform(affine, code=1)
        if writer == "nibabel-scaled":
            pair.header.set_slope_inter(0.5, -3.0)
        nib.save(pair, str(path))
    assert (tmp_path / "in.img").exists()
    reference = sitk.ReadImage(str(path))
    for name in ("in.hdr", "in.img"):
        out = tmp_path / f"from-{name}.npy"
        run_medvol("convert", tmp_path / name, out, "--quiet")
        array = np.load(out)
        assert array.dtype == sitk.GetArrayFromImage(reference).dtype
        assert np.array_equal(array, sitk.GetArrayFromImage(reference))
    info = run_medvol("info", path, "--json").json()
    assert_same_geometry({"size": info["size"], "spacing": info["spacing"], "origin": info["origin"],
                          "direction": info["direction"]}, geometry_of(reference), f"medvol info of a {writer} pair")


def test_analyze_header_is_read_through_itk(tmp_path):
    """An Analyze 7.5 pair (no NIfTI magic) is left to ITK's reader and gives SimpleITK's voxels."""
    values = np.arange(5 * 6 * 7, dtype=np.int16).reshape(7, 6, 5)
    image = nib.AnalyzeImage(values.transpose(2, 1, 0), np.diag([1.5, 2.0, 3.0, 1.0]))
    nib.save(image, str(tmp_path / "analyze.hdr"))
    assert (tmp_path / "analyze.hdr").read_bytes()[344:348] != b"ni1\x00"
    run_medvol("convert", tmp_path / "analyze.hdr", tmp_path / "a.npy", "--quiet")
    reference = sitk.ReadImage(str(tmp_path / "analyze.hdr"))
    assert np.array_equal(np.load(tmp_path / "a.npy"), sitk.GetArrayFromImage(reference))
    info = run_medvol("info", tmp_path / "analyze.hdr", "--json").json()
    assert np.allclose(info["spacing"], reference.GetSpacing())


def test_capitals_name_both_files(tmp_path):
    oblique_series(tmp_path / "dicom", shape=(4, 16, 12))
    run_medvol("convert", tmp_path / "dicom", tmp_path / "SCAN.HDR", "--quiet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SCAN.HDR", "SCAN.IMG", "dicom"]
    run_medvol("convert", tmp_path / "SCAN.IMG", tmp_path / "s.npy", "--quiet")
    assert np.array_equal(np.load(tmp_path / "s.npy"), sitk.GetArrayFromImage(sitk_series_in_folder(tmp_path / "dicom")))


def test_missing_and_short_voxel_files_are_errors_naming_the_file(tmp_path):
    oblique_series(tmp_path / "dicom", shape=(4, 16, 12))
    run_medvol("convert", tmp_path / "dicom", tmp_path / "v.hdr", "--quiet")
    image = tmp_path / "v.img"
    data = image.read_bytes()
    image.write_bytes(data[:-1])
    short = run_medvol("convert", tmp_path / "v.hdr", tmp_path / "out.npy", check=False)
    assert short.returncode == 1
    assert f"medvol: error: {image}: truncated: the header v.hdr announces {len(data)} bytes, the file has {len(data) - 1}" \
        in short.stderr
    image.unlink()
    missing = run_medvol("convert", tmp_path / "v.hdr", tmp_path / "out.npy", check=False)
    assert missing.returncode == 1 and f"medvol: error: {image}:" in missing.stderr
    assert not (tmp_path / "out.npy").exists() and not (tmp_path / "out.json").exists()
