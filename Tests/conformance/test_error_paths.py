"""Every failure reads `medvol: error: PATH: REASON`, PATH being the file or folder concerned (an input, one of its
files, or the output), whatever the command and whatever went wrong."""
from __future__ import annotations

import re

import numpy as np
import pytest

from dicom_fixtures import SeriesSpec, pattern, write_series

ERROR_LINE = re.compile(r"^medvol: error: (?P<path>.+?): (?P<reason>.+)$", re.MULTILINE)


def series_with_localizer(folder):
    axial = SeriesSpec(values=pattern(6, 10, 10), series_number=3, description="axial")
    write_series(folder, axial)
    scout = SeriesSpec(values=pattern(1, 10, 10, seed=5), series_uid=axial.series_uid, study_uid=axial.study_uid,
                       series_number=3, description="axial", row=(1.0, 0.0, 0.0), column=(0.0, 0.0, -1.0),
                       image_type="ORIGINAL\\PRIMARY\\LOCALIZER", instance_numbers=[99], file_names=["scout.dcm"])
    write_series(folder, scout)
    return axial


def make_cases(tmp_path):
    """(name, arguments, the path the error must name) for every way a command can fail."""
    series = tmp_path / "series"
    axial = series_with_localizer(series)
    two = tmp_path / "two"
    write_series(two / "a", SeriesSpec(values=pattern(3, 6, 6), series_number=1))
    write_series(two / "b", SeriesSpec(values=pattern(4, 6, 6), series_number=2))
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(next(series.iterdir()).read_bytes()[:300])
    short_raw = tmp_path / "short.mhd"
    short_raw.write_text("NDims = 3\nDimSize = 8 8 8\nElementType = MET_SHORT\nElementDataFile = missing.raw\n")
    existing = tmp_path / "exists.npy"
    existing.write_bytes(b"keep")
    out = tmp_path / "out"
    return [
        ("missing input", ["info", tmp_path / "nope"], tmp_path / "nope"),
        ("not DICOM", ["dump", text], text),
        ("truncated file", ["info", truncated], truncated),
        ("no images in folder", ["series", tmp_path / "empty-folder"], tmp_path / "empty-folder"),
        ("several stacks, none chosen", ["info", two], two),
        ("no such stack index", ["convert", two, out / "x.npy", "--series", "9"], two),
        ("no such series UID", ["info", two, "--series", "1.2.3.999"], two),
        ("series that splits into stacks", ["convert", series, out / "y.npy", "--series", axial.series_uid], series),
        ("output exists", ["convert", two / "a", existing], existing),
        ("MetaImage without its data", ["convert", short_raw, out / "z.npy"], short_raw),
        ("export of a missing input", ["export", tmp_path / "nope", out / "pictures"], tmp_path / "nope"),
        ("preview of a text file", ["preview", text, out / "p.png"], text),
        ("anonymize of a missing input", ["anonymize", tmp_path / "nope", out / "anon"], tmp_path / "nope"),
    ]


def test_every_error_names_a_path(medvol, tmp_path):
    (tmp_path / "empty-folder").mkdir()
    for name, arguments, path in make_cases(tmp_path):
        result = medvol(*arguments, check=False)
        assert result.returncode == 1, (name, result)
        match = ERROR_LINE.search(result.stderr)
        assert match, (name, result.stderr)
        assert match["path"] == str(path) or match["path"].startswith(str(path) + "/"), (name, result.stderr)


def test_a_series_that_splits_lists_its_stacks_and_how_to_pick_one(medvol, tmp_path):
    axial = series_with_localizer(tmp_path / "series")
    result = medvol("convert", tmp_path / "series", tmp_path / "out.npy", "--series", axial.series_uid, check=False)
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first == (f"medvol: error: {tmp_path / 'series'}: series {axial.series_uid} splits into 2 stacks; "
                     "choose one with --series INDEX (#INDEX below, as `medvol series` lists them):")
    listed = result.stderr.splitlines()[1:3]
    assert listed[0].strip().startswith("#1 series 3 \"axial\" CT 6 images 10×10×6 axial")
    assert listed[1].strip().startswith("#2 series 3 \"axial\" CT 1 images") and "coronal" in listed[1]
    assert not (tmp_path / "out.npy").exists()
    # The index it names works.
    medvol("convert", tmp_path / "series", tmp_path / "out.npy", "--series", "1")
    assert np.array_equal(np.load(tmp_path / "out.npy"), axial.values)


def test_a_failed_stack_among_others_names_its_output(medvol, tmp_path):
    """convert DIR OUTDIR: a stack that fails is reported as PATH: #N (name): REASON; the others convert."""
    write_series(tmp_path / "in" / "a", SeriesSpec(values=pattern(3, 6, 6), series_number=1, description="first"))
    second = SeriesSpec(values=pattern(4, 6, 6), series_number=2, description="second")
    write_series(tmp_path / "in" / "b", second)
    blocked = tmp_path / "out" / "1_first.npy"
    blocked.mkdir(parents=True)                      # a folder where the first stack's output would go
    result = medvol("convert", tmp_path / "in", tmp_path / "out", "--format", "npy", "--overwrite", check=False)
    assert result.returncode == 3  # the other stack was converted
    errors = ERROR_LINE.findall(result.stderr)
    assert len(errors) == 1 and errors[0][0] == str(blocked), result.stderr
    assert errors[0][1].startswith("#1 (1_first): "), result.stderr
    assert np.array_equal(np.load(tmp_path / "out" / "2_second.npy"), second.values)
