"""Whole-archive conversion: `medvol convert DIR OUTDIR --format F [--name PATTERN] [--compress]`.

An archive written with pydicom: patients, dates and modalities that differ, two series whose default names
clash, a non-DICOM file, a 4D series with an image missing and an RLE series with an undecodable file.
Every good stack must be converted (voxels and geometry equal to SimpleITK's reading), named by --name with
_2, _3 for clashes, compressed with --compress; the broken stacks must fail with their reason without
stopping the others; the summary must say what was converted, what failed and what was skipped; the exit
status is 1 when any stack failed and 0 when all succeeded.
"""
from __future__ import annotations

import gzip
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.uid import RLELossless

from dicom_fixtures import SeriesSpec, oblique_axes, pattern, write_series
from oracles import assert_same_image, sitk_series


def corrupt_rle(path: Path):
    """Claims 5 RLE segments in the first fragment where a 16-bit image has 2: undecodable, header intact."""
    ds = pydicom.dcmread(path)
    data = bytearray(ds.PixelData)
    table_length = struct.unpack_from("<I", data, 4)[0]
    first_fragment = 8 + table_length + 8
    struct.pack_into("<I", data, first_fragment, 5)
    ds.PixelData = bytes(data)
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    source = root / "archive"
    row, column = oblique_axes()
    good = {
        "ct": SeriesSpec(values=pattern(5, 9, 8), spacing=(0.7, 0.8, 2.0), origin=(-12.5, 30.25, -7.0), row=row, column=column,
                         modality="CT", series_number=2, description="Chest", patient_id="PAT-A", study_date="20240101"),
        "mr": SeriesSpec(values=pattern(4, 7, 6, dtype=np.uint16, low=0, span=4000), modality="MR", series_number=5,
                         description="Brain T1", patient_id="PAT-B", study_date="20240202"),
        "mr_again": SeriesSpec(values=pattern(3, 7, 6, dtype=np.uint16, low=0, span=4000, seed=5), modality="MR", series_number=5,
                               description="Brain T1", patient_id="PAT-B", study_date="20240203"),
    }
    paths = {
        "ct": write_series(source / "patientA" / "ct", good["ct"]),
        "mr": write_series(source / "patientB" / "2024" / "mr", good["mr"]),
        "mr_again": write_series(source / "patientB" / "2024" / "mr2", good["mr_again"]),
    }
    # A 4D series (2 images at each of 3 positions) with one image missing.
    dwi = SeriesSpec(values=pattern(3, 6, 5), modality="MR", series_number=9, description="DWI", patient_id="PAT-C",
                     study_date="20240303")
    dwi_paths = write_series(source / "patientC" / "dwi", dwi)
    for k, path in enumerate(dwi_paths):
        ds = pydicom.dcmread(path)
        ds.TemporalPositionIdentifier = 1
        ds.save_as(path, enforce_file_format=True)
        if k < 2:   # the second volume lacks its last image
            ds.TemporalPositionIdentifier = 2
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
            ds.InstanceNumber = 10 + k
            ds.save_as(path.with_name(f"T2_{path.name}"), enforce_file_format=True)
    # An RLE series with one undecodable file.
    rle = SeriesSpec(values=pattern(3, 6, 5, dtype=np.uint16, low=0, span=900), modality="CT", series_number=11,
                     description="RLE", patient_id="PAT-D", study_date="20240404")
    rle_paths = write_series(source / "patientD" / "rle", rle)
    for path in rle_paths:
        ds = pydicom.dcmread(path)
        ds.compress(RLELossless, generate_instance_uid=False)
        ds.save_as(path, enforce_file_format=True)
    corrupt_rle(rle_paths[1])
    (source / "README.txt").write_text("not DICOM\n")
    return {"root": root, "source": source, "good": good, "paths": paths}


def good_only(archive, tmp_path) -> Path:
    folder = tmp_path / "good"
    for key in archive["paths"]:
        shutil.copytree(archive["paths"][key][0].parent, folder / key)
    return folder


def expected_image(archive, key):
    return sitk_series(sorted(archive["paths"][key], key=lambda p: p.name))


def test_every_stack_converted_broken_ones_reported_exit_3(medvol, archive, tmp_path):
    out = tmp_path / "out"
    result = medvol("convert", archive["source"], out, "--format", "mhd", check=False)
    # 3: some stacks converted, some failed (1 is kept for nothing converted).
    assert result.returncode == 3, result
    names = sorted(p.name for p in out.iterdir())
    assert names == ["2_Chest.mhd", "2_Chest.raw", "5_Brain_T1.mhd", "5_Brain_T1.raw", "5_Brain_T1_2.mhd", "5_Brain_T1_2.raw"], names
    assert_same_image(sitk.ReadImage(str(out / "2_Chest.mhd")), expected_image(archive, "ct"), "CT")
    # The two series named alike: the one met first (by series order) is 5_Brain_T1; each holds one of them.
    brains = {sitk.GetArrayFromImage(sitk.ReadImage(str(out / n))).shape[0]: n for n in ("5_Brain_T1.mhd", "5_Brain_T1_2.mhd")}
    assert sorted(brains) == [3, 4]
    assert_same_image(sitk.ReadImage(str(out / brains[4])), expected_image(archive, "mr"), "MR")
    assert_same_image(sitk.ReadImage(str(out / brains[3])), expected_image(archive, "mr_again"), "MR again")
    stderr = result.stderr
    # The summary: converted, failed with the reason, skipped with the reason.
    assert "converted 3 of 5 stacks" in stderr, stderr
    assert "9_DWI" in stderr and "11_RLE" in stderr
    assert "segments" in stderr, "the undecodable file's reason"
    assert "README.txt" in stderr or "not a DICOM file" in stderr
    for name in ("2_Chest.mhd", "5_Brain_T1.mhd", "5_Brain_T1_2.mhd"):
        assert name in stderr, f"the summary does not name {name}"
    assert not list(out.glob(".medvol-partial-*")) and not list(tmp_path.glob(".medvol-partial-*"))


def test_all_good_exits_0(medvol, archive, tmp_path):
    source = good_only(archive, tmp_path)
    out = tmp_path / "npy"
    result = medvol("convert", source, out, "--format", "npy")
    assert result.returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["2_Chest.json", "2_Chest.npy", "5_Brain_T1.json", "5_Brain_T1.npy",
                                                     "5_Brain_T1_2.json", "5_Brain_T1_2.npy"]
    assert np.array_equal(np.load(out / "2_Chest.npy"), sitk.GetArrayFromImage(expected_image(archive, "ct")))
    assert "converted 3 of 3 stacks" in result.stderr


@pytest.mark.parametrize("pattern_, expected", [
    ("{PatientID}_{StudyDate}_{Modality}_{SeriesNumber}",
     ["PAT-A_20240101_CT_2", "PAT-B_20240202_MR_5", "PAT-B_20240203_MR_5"]),
    ("{Modality}", ["CT", "MR", "MR_2"]),
    ("fixed", ["fixed", "fixed_2", "fixed_3"]),
])
def test_name_pattern_fields_and_clashes(medvol, archive, tmp_path, pattern_, expected):
    source = good_only(archive, tmp_path)
    out = tmp_path / "named"
    medvol("convert", source, out, "--format", "nii", "--name", pattern_)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.nii" for n in expected)


def test_series_uid_field(medvol, archive, tmp_path):
    source = good_only(archive, tmp_path)
    out = tmp_path / "uids"
    medvol("convert", source, out, "--format", "nrrd", "--name", "{SeriesUID}")
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{spec.series_uid}.nrrd" for spec in archive["good"].values())


@pytest.mark.parametrize("fmt", ["mhd", "nii", "nii.gz", "nrrd", "npz", "mha"])
def test_compress(medvol, archive, tmp_path, fmt):
    source = good_only(archive, tmp_path)
    out = tmp_path / "compressed"
    medvol("convert", source, out, "--format", fmt, "--compress")
    names = sorted(p.name for p in out.iterdir())
    if fmt == "mhd":
        assert "2_Chest.zraw" in names and "2_Chest.raw" not in names
        assert "CompressedData = True" in (out / "2_Chest.mhd").read_text()
        image = sitk.ReadImage(str(out / "2_Chest.mhd"))
    elif fmt in ("nii", "nii.gz"):
        assert "2_Chest.nii.gz" in names, names
        with gzip.open(out / "2_Chest.nii.gz") as stream:
            assert len(stream.read(348)) == 348
        image = sitk.ReadImage(str(out / "2_Chest.nii.gz"))
    elif fmt == "nrrd":
        header = (out / "2_Chest.nrrd").read_bytes().split(b"\n\n")[0].decode()
        assert "encoding: gzip" in header
        image = sitk.ReadImage(str(out / "2_Chest.nrrd"))
    elif fmt == "mha":
        assert "CompressedData = True" in (out / "2_Chest.mha").read_bytes()[:1000].decode("latin-1")
        image = sitk.ReadImage(str(out / "2_Chest.mha"))
    else:
        with zipfile.ZipFile(out / "2_Chest.npz") as archive_file:
            assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive_file.infolist())
        with np.load(out / "2_Chest.npz") as arrays:
            assert np.array_equal(arrays["image"], sitk.GetArrayFromImage(expected_image(archive, "ct")))
        return
    assert_same_image(image, expected_image(archive, "ct"), f"{fmt} compressed")


def test_dicom_archive_to_dicom_folders(medvol, archive, tmp_path):
    source = good_only(archive, tmp_path)
    out = tmp_path / "dicom"
    medvol("convert", source, out, "--format", "dicom", "--name", "{Modality}_{SeriesNumber}")
    assert sorted(p.name for p in out.iterdir()) == ["CT_2", "MR_5", "MR_5_2"]
    assert_same_image(sitk_series(sorted((out / "CT_2").iterdir())), expected_image(archive, "ct"), "CT re-written")


def test_existing_outputs_fail_without_overwrite(medvol, archive, tmp_path):
    source = good_only(archive, tmp_path)
    out = tmp_path / "again"
    medvol("convert", source, out, "--format", "mha")
    before = (out / "2_Chest.mha").read_bytes()
    again = medvol("convert", source, out, "--format", "mha", check=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert (out / "2_Chest.mha").read_bytes() == before
    medvol("convert", source, out, "--format", "mha", "--overwrite")


def test_quiet_still_reports_failures(medvol, archive, tmp_path):
    result = medvol("convert", archive["source"], tmp_path / "q", "--format", "npz", "--quiet", check=False)
    assert result.returncode == 3
    assert "medvol: error:" in result.stderr and "converted" not in result.stderr


def test_no_stacks_is_an_error(medvol, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "a.txt").write_text("x")
    result = medvol("convert", folder, tmp_path / "out", "--format", "mhd", check=False)
    assert result.returncode == 1 and not (tmp_path / "out").exists()


def test_series_picks_one_stack_even_with_a_format(medvol, archive, tmp_path):
    """`--series N --format F` converts that stack only, into OUTPUT with F's extension."""
    source = good_only(archive, tmp_path)
    listing = medvol("series", source, "--json").json()["stacks"]
    chest = next(s for s in listing if s["seriesNumber"] == 2)
    medvol("convert", source, tmp_path / "one", "--format", "mha", "--series", chest["index"])
    assert (tmp_path / "one.mha").is_file() and not (tmp_path / "one").exists()
    assert_same_image(sitk.ReadImage(str(tmp_path / "one.mha")), expected_image(archive, "ct"), "--series")
