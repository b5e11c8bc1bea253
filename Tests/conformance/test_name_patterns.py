"""Name patterns (issue 12, item 8): DICOM values go into `--name` patterns once, literally, sanitised; names
too long for a file system are shortened with a digest so that they stay unique.

The hostile case: files whose fields hold other fields' placeholders (`{SeriesUID}` in Series Description,
`{SeriesDescription}` in Patient ID). Expanding values again made the tree vary between identical runs and,
with fields that refer to each other, made `export` run for minutes and print hundreds of MB.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pydicom
import pytest

from conftest import run_medvol
from dicom_fixtures import SeriesSpec, pattern, write_series


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def expected_name(text: str) -> str:
    """What medvol makes of a filled-in pattern: letters, digits, - . _ kept, anything else _, runs of _
    collapsed, leading _ and . and trailing _ removed."""
    cleaned = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9._-]", "_", text))
    return cleaned.lstrip("_.").rstrip("_")


def export_segment(text: str) -> str:
    """What `export` makes of one filled-in folder level: letters, digits, - . _ kept, anything else _, leading
    dots removed."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text).lstrip(".")


def set_fields(paths, **fields):
    for path in paths:
        ds = pydicom.dcmread(path)
        for keyword, value in fields.items():
            setattr(ds, keyword, value)
        ds.save_as(path, enforce_file_format=True)


@pytest.fixture
def self_referring(tmp_path):
    """Two series whose fields name each other's placeholders."""
    root = tmp_path / "in"
    a = write_series(root / "a", SeriesSpec(values=pattern(3, 4, 4), series_number=1, description="x"))
    b = write_series(root / "b", SeriesSpec(values=pattern(3, 4, 4), series_number=2, description="y"))
    set_fields(a, SeriesDescription="{SeriesUID}{PatientID}{SeriesUID}", PatientID="{SeriesDescription}{SeriesDescription}")
    set_fields(b, SeriesDescription="{PatientID}{PatientID}{Index}", PatientID="{SeriesDescription}{SeriesUID}")
    uids = {name: pydicom.dcmread(paths[0]).SeriesInstanceUID for name, paths in (("a", a), ("b", b))}
    return root, uids


def test_values_are_inserted_once_and_literally(self_referring, tmp_path):
    root, _ = self_referring
    trees = []
    for run in range(3):
        out = tmp_path / f"out{run}"
        started = time.monotonic()
        run_medvol("convert", root, out, "--format", "nii", "--name", "{SeriesNumber}-{SeriesDescription}-{PatientID}", "--quiet")
        assert time.monotonic() - started < 30
        trees.append(tree(out))
    assert trees[0] == trees[1] == trees[2]
    assert trees[0] == sorted([
        expected_name("1-{SeriesUID}{PatientID}{SeriesUID}-{SeriesDescription}{SeriesDescription}") + ".nii",
        expected_name("2-{PatientID}{PatientID}{Index}-{SeriesDescription}{SeriesUID}") + ".nii",
    ])
    assert trees[0][0] == "1-_SeriesUID_PatientID_SeriesUID_-_SeriesDescription_SeriesDescription.nii"


def test_export_with_self_referring_fields_is_quick_and_small(self_referring, tmp_path):
    root, uids = self_referring
    out = tmp_path / "pictures"
    started = time.monotonic()
    result = run_medvol("export", root / "a", out, "--name", "{PatientID}/{SeriesDescription}_{InstanceNumber}", timeout=60)
    assert time.monotonic() - started < 30
    assert len(result.stdout) + len(result.stderr) < 10_000
    folder = export_segment("{SeriesDescription}{SeriesDescription}")
    assert folder == "_SeriesDescription__SeriesDescription_"
    assert tree(out) == [folder] + [f"{folder}/{export_segment('{SeriesUID}{PatientID}{SeriesUID}_')}{k}.png" for k in (1, 2, 3)]


def test_a_value_never_adds_a_folder_level(tmp_path):
    paths = write_series(tmp_path / "in", SeriesSpec(values=pattern(2, 4, 4), description="x"))
    set_fields(paths, SeriesDescription="../../escape/me", PatientID="/etc")
    out = tmp_path / "pictures"
    run_medvol("export", tmp_path / "in", out, "--name", "{PatientID}/{SeriesDescription}/{InstanceNumber}")
    level = export_segment("../../escape/me")
    assert level == "_.._escape_me"
    assert tree(out) == ["_etc", f"_etc/{level}", f"_etc/{level}/1.png", f"_etc/{level}/2.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "pictures"]


def test_overlong_fields_are_shortened_with_a_digest_and_stay_unique(tmp_path):
    root = tmp_path / "in"
    start = "Very long protocol description " * 10            # 310 characters
    for index, tail in enumerate(("alpha", "beta")):
        paths = write_series(root / tail, SeriesSpec(values=pattern(2, 4, 4), series_number=index + 1, description="x"))
        set_fields(paths, SeriesDescription=start + tail)
    out = tmp_path / "out"
    run_medvol("convert", root, out, "--format", "nii.gz", "--name", "{SeriesDescription}", "--quiet")
    names = tree(out)
    assert len(names) == 2 and names[0] != names[1]
    stem = expected_name(start)
    for name in names:
        base = name.removesuffix(".nii.gz")
        assert len(base.encode()) == 200
        assert re.fullmatch(re.escape(stem[:187]) + r"-[0-9a-f]{12}", base), base
    # The same input gives the same names.
    again = tmp_path / "again"
    run_medvol("convert", root, again, "--format", "nii.gz", "--name", "{SeriesDescription}", "--quiet")
    assert tree(again) == names
    # export shortens a folder level the same way.
    pictures = tmp_path / "pictures"
    run_medvol("export", root / "alpha", pictures, "--name", "{SeriesDescription}/{InstanceNumber}")
    (folder,) = [p for p in pictures.iterdir()]
    assert len(folder.name.encode()) == 200 and folder.name + ".nii.gz" in names


def test_dcm2niix_percent_fields(tmp_path):
    """dcm2niix's `-f` fields work unchanged in `--name`: %p %s %d %t %i %e, mixed with {Field} and text;
    a % that names no field stays (as "_", like any other unsafe character)."""
    root = tmp_path / "in"
    paths = write_series(root / "a", SeriesSpec(values=pattern(2, 4, 4), series_number=12, description="T1 sag",
                                                modality="MR", patient_id="P42", study_date="20240102"))
    set_fields(paths, ProtocolName="mprage", EchoNumbers=2, StudyTime="101500.25")
    out = tmp_path / "out"
    run_medvol("convert", "--quiet", "--format", "nii", "--name", "%p_%s_%d_%t_%i_%e_{Modality}_%q_100%", str(root), str(out))
    assert tree(out) == ["mprage_12_T1_sag_20240102101500_P42_2_MR_q_100_.nii".replace("_.nii", ".nii")]
