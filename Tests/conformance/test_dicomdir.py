"""DICOMDIR file-sets: listed from the directory records alone (no image file opened), converted through
the references, and written by two independent writers (pydicom's FileSet and GDCM's gdcmgendir)."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pydicom
import pytest
from pydicom.fileset import FileSet

from dicom_fixtures import SeriesSpec, pattern, write_series
from oracles import assert_same_geometry, geometry_of, load_npy_with_sidecar, sitk_series


def make_file_set(tmp_path):
    """Two patients, three series, written as a File-set by pydicom. Returns (root, DICOMDIR path, specs)."""
    specs = [
        SeriesSpec(values=pattern(5, 8, 9), series_number=2, modality="CT", patient_id="P1", description="chest"),
        SeriesSpec(values=pattern(3, 8, 9, seed=4), series_number=7, modality="MR", patient_id="P1", description="head"),
        SeriesSpec(values=pattern(4, 6, 6, seed=9), series_number=1, modality="CT", patient_id="P2", description="abdomen"),
    ]
    staging = tmp_path / "staging"
    file_set = FileSet()
    for index, spec in enumerate(specs):
        for path in write_series(staging / f"s{index}", spec):
            file_set.add(pydicom.dcmread(path))
    root = tmp_path / "fileset"
    file_set.write(root)
    return root, root / "DICOMDIR", specs


def test_listing_uses_records_only(medvol, tmp_path):
    root, dicomdir, specs = make_file_set(tmp_path)
    listing = medvol("series", dicomdir, "--json").json()
    assert listing["source"].startswith("DICOMDIR records")
    entries = {entry["seriesInstanceUID"]: entry for entry in listing["stacks"]}
    assert set(entries) == {spec.series_uid for spec in specs}
    for spec in specs:
        entry = entries[spec.series_uid]
        assert entry["imageCount"] == spec.values.shape[0]
        assert entry["seriesNumber"] == spec.series_number
        assert entry["modality"] == spec.modality
        assert entry["patientID"] == spec.patient_id

    # Proof that no image file is opened: destroy them all; the listing from records is unchanged,
    # while reading headers (--open-files) now skips every file.
    for path in root.rglob("*"):
        if path.is_file() and path.name != "DICOMDIR":
            path.write_bytes(b"destroyed")
    again = medvol("series", dicomdir, "--json").json()
    assert again["stacks"] == listing["stacks"]
    opened = medvol("series", dicomdir, "--json", "--open-files").json()
    assert opened["stacks"] == []
    assert len(opened["skipped"]) == sum(spec.values.shape[0] for spec in specs)


def test_text_listing_names_the_source(medvol, tmp_path):
    _, dicomdir, _ = make_file_set(tmp_path)
    text = medvol("series", dicomdir).stdout
    assert "listed from the DICOMDIR's records (12 images, no image file opened)" in text
    assert "P1" in text and "P2" in text and "MR" in text   # pydicom writes no SeriesDescription into SERIES records


def test_convert_through_the_directory(medvol, tmp_path):
    root, dicomdir, specs = make_file_set(tmp_path)
    listing = medvol("series", dicomdir, "--json", "--open-files").json()
    assert [s["imageCount"] for s in listing["stacks"]] == [4, 5, 3]   # ordered by series number, then UID
    for spec in specs:
        out = tmp_path / f"{spec.series_number}.npy"
        medvol("convert", dicomdir, out, "--series", spec.series_uid)
        array, sidecar = load_npy_with_sidecar(out)
        assert np.array_equal(array, spec.values)
        files = [p for p in root.rglob("*") if p.is_file() and p.name != "DICOMDIR"
                 and pydicom.dcmread(p, stop_before_pixels=True).SeriesInstanceUID == spec.series_uid]
        assert_same_geometry(sidecar, geometry_of(sitk_series(sorted(files, key=lambda p: float(pydicom.dcmread(p).ImagePositionPatient[2])))))


def test_missing_referenced_file_is_reported(medvol, tmp_path):
    root, dicomdir, specs = make_file_set(tmp_path)
    victim = next(p for p in root.rglob("*") if p.is_file() and p.name != "DICOMDIR")
    victim.unlink()
    listing = medvol("series", dicomdir, "--json").json()
    assert len(listing["skipped"]) == 1 and "missing" in listing["skipped"][0]["reason"]
    assert sum(entry["imageCount"] for entry in listing["stacks"]) == 12


@pytest.mark.skipif(shutil.which("gdcmgendir") is None, reason="gdcmgendir (libgdcm-tools) not installed")
def test_gdcmgendir_file_set(medvol, tmp_path):
    """A DICOMDIR written by GDCM over files named as a File-set requires (≤ 8 upper-case characters)."""
    spec = SeriesSpec(values=pattern(6, 10, 10), series_number=4, file_names=[f"IM{k:06d}" for k in range(6)])
    write_series(tmp_path / "FS" / "SERIES1", spec)
    subprocess.run(["gdcmgendir", "-r", "-i", str(tmp_path / "FS"), "-o", str(tmp_path / "FS" / "DICOMDIR")], check=True,
                   capture_output=True)
    listing = medvol("series", tmp_path / "FS" / "DICOMDIR", "--json").json()
    assert [(s["seriesInstanceUID"], s["imageCount"]) for s in listing["stacks"]] == [(spec.series_uid, 6)]
    out = tmp_path / "gdcm.npy"
    medvol("convert", tmp_path / "FS" / "DICOMDIR", out)
    assert np.array_equal(np.load(out), spec.values)


def test_listing_says_entries_are_series_not_stacks(medvol, tmp_path):
    _, dicomdir, _ = make_file_set(tmp_path)
    listing = medvol("series", dicomdir, "--json").json()
    assert listing["entries"].startswith("series (not split into stacks; --open-files")
    assert "one row per series, not split into stacks; --open-files" in medvol("series", dicomdir).stdout
    assert "entries" not in medvol("series", dicomdir, "--json", "--open-files").json()


@pytest.mark.parametrize("name,recode", [
    ("CATALOG", None),                                   # another name, same bytes
    ("DICOMDIR-bigEnd", ["dcmconv", "+tb"]),             # explicit VR big endian
    ("dir-implicit.dcm", ["dcmconv", "+ti"]),            # implicit VR little endian
])
def test_dicomdir_recognised_by_content(medvol, tmp_path, name, recode):
    root, dicomdir, specs = make_file_set(tmp_path)
    renamed = root / name
    if recode:
        subprocess.run([*recode, str(dicomdir), str(renamed)], check=True, capture_output=True)
        expected = {"DICOMDIR-bigEnd": "1.2.840.10008.1.2.2", "dir-implicit.dcm": "1.2.840.10008.1.2"}[name]
        assert pydicom.dcmread(renamed).file_meta.TransferSyntaxUID == expected
    else:
        shutil.copy(dicomdir, renamed)
    dicomdir.unlink()

    listing = medvol("series", renamed, "--json").json()
    assert listing["source"].startswith("DICOMDIR records")
    assert sorted(entry["seriesInstanceUID"] for entry in listing["stacks"]) == sorted(spec.series_uid for spec in specs)
    assert {entry["seriesInstanceUID"]: entry["imageCount"] for entry in listing["stacks"]} == \
        {spec.series_uid: spec.values.shape[0] for spec in specs}
    for spec in specs:
        out = tmp_path / f"{name}-{spec.series_number}.npy"
        medvol("convert", renamed, out, "--series", spec.series_uid)
        assert np.array_equal(np.load(out), spec.values)
    info = medvol("info", renamed, "--series", specs[0].series_uid, "--json").json()
    assert info["size"] == [9, 8, 5]
