"""Values checked, text made safe (issue 12, item 7).

Header values that no voxel may be computed with — a Rescale Slope of 0, NaN, an infinity or text, a Rescale
Intercept that is not a finite number, Bits Stored outside 1…Bits Allocated — and pixel data of the wrong
length are errors naming the file (`medvol: error: FILE: REASON`, exit 1, nothing written); native pixel data
longer than their frames (or of odd length) can be read safely and give a warning naming the file. RLE segments
that decode to more or fewer bytes than the frame's pixels are errors.

Every case checks the exit status, the exact error line (and that stderr holds no other line), the output
folder's contents and the time (< 30 s). Inputs are made here, a few KiB each."""
from __future__ import annotations

import os
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import RLELossless

from conftest import medvol_binary
from dicom_fixtures import SeriesSpec, pattern, write_series
from pixel_fixtures import rle_encode_frame, write_pixel_series

TIME_LIMIT = 30.0
SLOPE_MARK = b"12345.6 "           # an 8-byte DS value, replaced in the file's bytes by the value to test


class Run:
    def __init__(self, completed, seconds):
        self.returncode, self.stdout, self.stderr, self.seconds = (completed.returncode, completed.stdout,
                                                                   completed.stderr, seconds)

    def __repr__(self):
        return f"<medvol exit {self.returncode}, {self.seconds:.2f} s\nstdout: {self.stdout}\nstderr: {self.stderr}>"


def run(*args) -> Run:
    start = time.monotonic()
    completed = subprocess.run([medvol_binary(), *map(str, args)], capture_output=True, text=True, timeout=TIME_LIMIT)
    return Run(completed, time.monotonic() - start)


def assert_one_error(result: Run, path: Path, reason: str):
    """Exit 1, and stderr is exactly the one line `medvol: error: PATH: REASON`."""
    assert result.returncode == 1, result
    assert result.stderr.splitlines() == [f"medvol: error: {path}: {reason}"], result
    assert result.seconds < TIME_LIMIT, result


def assert_empty(folder: Path):
    assert not folder.exists() or sorted(os.listdir(folder)) == [], f"left in {folder}: {os.listdir(folder)}"


def series_with_value(folder: Path, tag_value: bytes, *, intercept: bool = False) -> tuple[list[Path], SeriesSpec]:
    """A 3-slice CT series whose second file's Rescale Slope (or Intercept) holds `tag_value` as written
    (8 bytes, padded with spaces); the others hold slope 1, intercept -1024."""
    spec = SeriesSpec(values=pattern(3, 6, 6), series_number=4, description="values",
                      slope=1.0 if intercept else 12345.6, intercept=12345.6 if intercept else -1024.0)
    paths = write_series(folder, spec)
    for index, path in enumerate(paths):
        data = path.read_bytes()
        assert data.count(SLOPE_MARK) == 1
        replacement = tag_value.ljust(8) if index == 1 else (b"-1024   " if intercept else b"1       ")
        path.write_bytes(data.replace(SLOPE_MARK, replacement))
    return paths, spec


# MARK: Rescale Slope and Intercept

SLOPES = [
    (b"0", "Rescale Slope (0028,1053) is 0: every voxel would be the intercept"),
    (b"0.000", "Rescale Slope (0028,1053) is 0: every voxel would be the intercept"),
    (b"NaN", 'Rescale Slope (0028,1053) is "NaN", not a finite number'),
    (b"Inf", 'Rescale Slope (0028,1053) is "Inf", not a finite number'),
    (b"-inf", 'Rescale Slope (0028,1053) is "-inf", not a finite number'),
    (b"1e999", 'Rescale Slope (0028,1053) is "1e999", not a finite number'),
    (b"abc", 'Rescale Slope (0028,1053) is "abc", not a number'),
    (b"2\\x", 'Rescale Slope (0028,1053) is "2\\x", not a number'),
]


@pytest.mark.parametrize("value, reason", SLOPES, ids=[value.decode() for value, _ in SLOPES])
@pytest.mark.parametrize("command", ["convert", "info"])
def test_unusable_rescale_slope_is_an_error(tmp_path, value, reason, command):
    paths, _ = series_with_value(tmp_path / "in", value)
    out = tmp_path / "out"
    args = ["convert", tmp_path / "in", out / "volume.nii.gz"] if command == "convert" else ["info", tmp_path / "in"]
    assert_one_error(run(*args), paths[1], reason)
    assert_empty(out)


def test_unusable_rescale_slope_is_listed_by_series(tmp_path):
    paths, _ = series_with_value(tmp_path / "in", b"0")
    result = run("series", tmp_path / "in", "--json")
    assert result.returncode == 0, result
    stacks = result.stdout and __import__("json").loads(result.stdout)["stacks"]
    assert len(stacks) == 1
    assert stacks[0]["problem"] == f"{paths[1]}: Rescale Slope (0028,1053) is 0: every voxel would be the intercept"


@pytest.mark.parametrize("value, reason", [
    (b"NaN", 'Rescale Intercept (0028,1052) is "NaN", not a finite number'),
    (b"xyz", 'Rescale Intercept (0028,1052) is "xyz", not a number'),
], ids=["NaN", "text"])
def test_unusable_rescale_intercept_is_an_error(tmp_path, value, reason):
    paths, _ = series_with_value(tmp_path / "in", value, intercept=True)
    assert_one_error(run("convert", tmp_path / "in", tmp_path / "out" / "v.npy"), paths[1], reason)
    assert_empty(tmp_path / "out")


@pytest.mark.parametrize("value, factor", [(b"1", 1), (b"2.0", 2), (b"-0.5", -0.5)])
def test_usable_rescale_slope_still_applies(tmp_path, value, factor):
    """The control: the same series with a usable slope in the same place converts, the slope applied."""
    paths, spec = series_with_value(tmp_path / "in", value)
    result = run("convert", tmp_path / "in", tmp_path / "out" / "v.npy")
    assert result.returncode == 0 and result.stderr.count("\n") <= 1 and "warning" not in result.stderr, result
    volume = np.load(tmp_path / "out" / "v.npy")              # (z, y, x)
    expected = spec.values.astype(np.float64) - 1024
    expected[1] = spec.values[1].astype(np.float64) * factor - 1024
    assert np.array_equal(volume.astype(np.float64), expected)


# MARK: Bits Stored

@pytest.mark.parametrize("bits_stored", [17, 20, 0])
def test_bits_stored_outside_bits_allocated_is_an_error(tmp_path, bits_stored):
    frames = list(pattern(3, 6, 6, dtype=np.uint16, low=0, span=4000))

    def extra(ds, k):
        if k == 2:
            ds.BitsStored = bits_stored
            ds.HighBit = max(bits_stored - 1, 0)

    paths = write_pixel_series(tmp_path / "in", frames, extra=extra)
    assert_one_error(run("convert", tmp_path / "in", tmp_path / "out" / "v.nii"), paths[2],
                     f"Bits Stored (0028,0101) is {bits_stored}, outside 1…16 (Bits Allocated)")
    assert_empty(tmp_path / "out")


# MARK: Length of native pixel data

def set_pixel_data_length(path: Path, length: int):
    """Rewrites the length of the file's Pixel Data (its last element, explicit VR OB/OW) to `length`,
    cutting or extending its value with bytes 0x07 to match."""
    data = bytearray(path.read_bytes())
    at = data.rfind(b"\xe0\x7f\x10\x00")
    assert at > 0 and data[at + 4:at + 6] in (b"OB", b"OW")
    old = struct.unpack_from("<I", data, at + 8)[0]
    start = at + 12
    assert start + old == len(data)
    value = bytes(data[start:start + min(old, length)]) + b"\x07" * max(0, length - old)
    path.write_bytes(bytes(data[:at + 8]) + struct.pack("<I", length) + value)


@pytest.mark.parametrize("length, odd", [(73, " (an odd length)"), (80, ""), (75, " (an odd length)")])
def test_longer_native_pixel_data_warn_and_read_the_frame(tmp_path, length, odd):
    spec = SeriesSpec(values=pattern(3, 6, 6), series_number=2, description="long")
    paths = write_series(tmp_path / "in", spec)
    set_pixel_data_length(paths[1], length)
    result = run("convert", tmp_path / "in", tmp_path / "out" / "v.npy")
    assert result.returncode == 0, result
    extra = length - 72
    warning = (f"medvol: warning: #1: {paths[1]}: pixel data hold {length} bytes, 72 needed for 1 frame(s) of 6×6 "
               f"int16 MONOCHROME2{odd}; the last {extra} byte{'' if extra == 1 else 's'} are ignored")
    assert result.stderr.splitlines()[0] == warning, result
    assert [line for line in result.stderr.splitlines() if "warning" in line] == [warning], result
    assert np.array_equal(np.load(tmp_path / "out" / "v.npy"), spec.values)
    assert sorted(os.listdir(tmp_path / "out")) == ["v.json", "v.npy"]
    # The sidecar keeps the warning.
    assert warning.split("#1: ", 1)[1] in (tmp_path / "out" / "v.json").read_text()


@pytest.mark.parametrize("length", [71, 70, 1])
def test_shorter_native_pixel_data_are_an_error(tmp_path, length):
    spec = SeriesSpec(values=pattern(3, 6, 6), series_number=2, description="short")
    paths = write_series(tmp_path / "in", spec)
    set_pixel_data_length(paths[0], length)
    assert_one_error(run("convert", tmp_path / "in", tmp_path / "out" / "v.mha"), paths[0],
                     f"pixel data hold {length} bytes, 72 needed for 1 frame(s) of 6×6 int16 MONOCHROME2")
    assert_empty(tmp_path / "out")


def test_two_files_with_unusable_values_are_counted(tmp_path):
    spec = SeriesSpec(values=pattern(4, 6, 6), series_number=2, description="short")
    paths = write_series(tmp_path / "in", spec)
    set_pixel_data_length(paths[1], 10)
    set_pixel_data_length(paths[3], 10)
    assert_one_error(run("convert", tmp_path / "in", tmp_path / "out" / "v.mha"), paths[1],
                     "pixel data hold 10 bytes, 72 needed for 1 frame(s) of 6×6 int16 MONOCHROME2 "
                     "(and 1 more file of this stack that cannot be read)")


# MARK: RLE segments of the wrong length

def rle_series(folder: Path, change_segment) -> tuple[list[Path], np.ndarray]:
    """Three 8-bit RLE slices; `change_segment(k, segment)` may alter slice k's one PackBits segment."""
    truth = pattern(3, 6, 6, dtype=np.uint8, low=0, span=250)
    paths = write_pixel_series(folder, list(truth))
    for k, path in enumerate(paths):
        frame = rle_encode_frame(truth[k])
        segment = change_segment(k, frame[64:])
        frame = frame[:64] + segment
        frame += b"\0" * (len(frame) % 2)
        ds = pydicom.dcmread(path)
        ds.PixelData = encapsulate([frame])
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = RLELossless
        ds.save_as(path, enforce_file_format=True)
    return paths, truth


def test_rle_control_decodes(tmp_path):
    paths, truth = rle_series(tmp_path / "in", lambda k, segment: segment)
    result = run("convert", tmp_path / "in", tmp_path / "out" / "v.npy")
    assert result.returncode == 0 and "warning" not in result.stderr, result
    assert np.array_equal(np.load(tmp_path / "out" / "v.npy"), truth)


@pytest.mark.parametrize("name, change, decoded", [
    ("literal run after the last pixel", lambda segment: segment.rstrip(b"\0") + b"\x01\x05\x06", 38),
    ("repeat run after the last pixel", lambda segment: segment.rstrip(b"\0") + b"\xfd\x09", 40),
    ("last run too long", lambda segment: segment.rstrip(b"\0") + b"\xf0\x00", 53),
])
def test_rle_segment_decoding_to_more_bytes_is_an_error(tmp_path, name, change, decoded):
    paths, _ = rle_series(tmp_path / "in", lambda k, segment: change(segment) if k == 1 else segment)
    assert_one_error(run("convert", tmp_path / "in", tmp_path / "out" / "v.npy"), paths[1],
                     f"RLE segment 1 decodes to {decoded} bytes, 36 expected")
    assert_empty(tmp_path / "out")


def test_rle_segment_decoding_to_fewer_bytes_is_an_error(tmp_path):
    # 36 pixels as 3 literal runs of 12; the third cut to a repeat of 2.
    def short(k, segment):
        if k != 0:
            return segment
        return b"\x0b" + bytes(range(12)) + b"\x0b" + bytes(range(12)) + b"\xff\x09"
    paths, _ = rle_series(tmp_path / "in", short)
    assert_one_error(run("convert", tmp_path / "in", tmp_path / "out" / "v.npy"), paths[0],
                     "RLE segment 1 holds 26 of 36 bytes")
    assert_empty(tmp_path / "out")


# MARK: Control characters in text output

HOSTILE = "CT \x1b[31mRED\x07\r\x00 x\x9b2J\nmedvol: error: forged"
SHOWN = "CT \\x1B[31mRED\\x07\\r\\x00 x\\x9B2J\\nmedvol: error: forged"      # as `dump` shows it


def assert_no_control_characters(text: str):
    """Only line breaks: no ESC, BEL, CR, NUL, DEL or C1 control reaches the terminal."""
    controls = sorted({f"U+{ord(c):04X}" for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F})
    assert not controls, f"control characters {controls} in {text!r}"
    assert not any(line.startswith("medvol: error: forged") for line in text.splitlines()), text


@pytest.fixture
def hostile_series(tmp_path):
    """Two stacks: one whose Series Description holds terminal escape codes, a bell, CR, NUL, a C1 CSI and a
    line break followed by a forged error line; another whose description sets the window title."""
    first = write_series(tmp_path / "in" / "a", SeriesSpec(values=pattern(3, 4, 4), series_number=1, description=HOSTILE))
    write_series(tmp_path / "in" / "b", SeriesSpec(values=pattern(2, 4, 4), series_number=2, description="two\x1b]0;title\x07"))
    return tmp_path / "in", first


def test_series_escapes_control_characters(hostile_series):
    folder, _ = hostile_series
    result = run("series", folder)
    assert result.returncode == 0 and result.stderr == "", result
    assert_no_control_characters(result.stdout)
    rows = [line for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert rows[0].endswith(f"axial  {SHOWN}"), rows
    assert rows[1].endswith("axial  two\\x1B]0;title\\x07"), rows


def test_series_json_escapes_control_characters(hostile_series):
    folder, _ = hostile_series
    result = run("series", folder, "--json")
    assert result.returncode == 0, result
    assert_no_control_characters(result.stdout)
    assert '"description": "CT \\u001b[31mRED\\u0007\\r\\u0000 x\\u009b2J\\nmedvol: error: forged"' in result.stdout
    import json
    assert [stack["description"] for stack in json.loads(result.stdout)["stacks"]] == [HOSTILE, "two\x1b]0;title\x07"]


def test_info_escapes_control_characters(hostile_series):
    folder, first = hostile_series
    result = run("info", folder / "a")
    assert result.returncode == 0, result
    assert_no_control_characters(result.stdout + result.stderr)
    series_line = [line for line in result.stdout.splitlines() if line.startswith("series ")]
    assert len(series_line) == 1 and f'1 "{SHOWN}" CT ' in series_line[0], result


def test_dump_and_series_show_the_same_escapes(hostile_series):
    folder, first = hostile_series
    dump = run("dump", first[0])
    assert dump.returncode == 0, dump
    assert f"[{SHOWN}]" in dump.stdout
    assert SHOWN in run("series", folder).stdout


def test_error_listing_stacks_escapes_their_descriptions(hostile_series):
    folder, _ = hostile_series
    result = run("info", folder)
    assert result.returncode == 1, result
    assert_no_control_characters(result.stderr)
    lines = result.stderr.splitlines()
    assert lines[0] == f"medvol: error: {folder}: holds 2 stacks; choose one with --series:"
    assert len(lines) == 3 and lines[1].startswith(f'  #1 series 1 "{SHOWN}" CT 3 images 4×4×3 axial — ')
    assert lines[2].startswith('  #2 series 2 "two\\x1B]0;title\\x07" CT 2 images')


def test_warnings_and_errors_escape_file_names(tmp_path):
    """A file name with escape codes, in a warning (pixel data too long) and in an error (Rescale Slope 0)."""
    name = "IM\x1b[2J\x07\rX.dcm"
    shown = "IM\\x1B[2J\\x07\\rX.dcm"
    spec = SeriesSpec(values=pattern(2, 6, 6), series_number=2, description="long",
                      file_names=["IM00001.dcm", name])
    paths = write_series(tmp_path / "in", spec)
    set_pixel_data_length(paths[1], 80)
    result = run("convert", tmp_path / "in", tmp_path / "out" / "v.npy")
    assert result.returncode == 0, result
    assert_no_control_characters(result.stderr)
    assert result.stderr.splitlines()[0] == (
        f"medvol: warning: #1: {tmp_path / 'in'}/{shown}: pixel data hold 80 bytes, 72 needed for 1 frame(s) of 6×6 "
        "int16 MONOCHROME2; the last 8 bytes are ignored")
    series = run("series", tmp_path / "in")
    assert_no_control_characters(series.stdout)
    assert f"warning: {tmp_path / 'in'}/{shown}: pixel data hold 80 bytes" in series.stdout

    missing = tmp_path / "gone\x1b[31m\n.dcm"
    result = run("info", missing)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"medvol: error: {tmp_path}/gone\\x1B[31m\\n.dcm: no such file or folder"], result


def test_slope_text_with_escape_codes_is_quoted_escaped(tmp_path):
    paths, _ = series_with_value(tmp_path / "in", b"\x1b[31m\x07")
    result = run("convert", tmp_path / "in", tmp_path / "out" / "v.npy")
    assert_one_error(result, paths[1], 'Rescale Slope (0028,1053) is "\\x1B[31m\\x07", not a number')
    assert_no_control_characters(result.stderr)


# ----------------------------------------------------------------------------------------------------------
# Messages of the C++ libraries: caught by the bridge, they become the reason of the one error line

SHORT_HEADER_FIELDS = ["ElementNumberOfChannels = 1", "Comment = made by hand"]   # fields only ITK's MetaIO reads


@pytest.mark.parametrize("field", SHORT_HEADER_FIELDS)
def test_what_metaio_prints_becomes_the_reason(tmp_path, field):
    (tmp_path / "short.raw").write_bytes(bytes(100))
    header = tmp_path / "s.mhd"
    header.write_text(f"ObjectType = Image\nNDims = 3\nDimSize = 4 5 6\nElementType = MET_SHORT\n{field}\n"
                      "ElementDataFile = short.raw\n")
    out = tmp_path / "out"
    out.mkdir()
    result = run("convert", header, out / "s.npy")
    assert_one_error(result, header, "cannot read the voxels: MetaImage: M_ReadElementsData: data not read completely; "
                                     "ideal = 240 : actual = 100")
    assert_empty(out)


def test_a_missing_slice_file_printed_by_metaio_becomes_the_reason(tmp_path):
    header = tmp_path / "s.mhd"
    header.write_text("ObjectType = Image\nNDims = 3\nDimSize = 4 5 2\nElementType = MET_SHORT\n"
                      "ElementDataFile = LIST\nmissing-1.raw\nmissing-2.raw\n")
    result = run("convert", header, tmp_path / "s.npy")
    assert_one_error(result, header, "cannot read the voxels: MetaImage: Read: cannot open slice")
    assert not (tmp_path / "s.npy").exists()


def test_a_short_analyze_image_is_an_error_before_itk_reads_it(tmp_path):
    import nibabel as nib
    nib.save(nib.AnalyzeImage(np.arange(120, dtype=np.int16).reshape(4, 5, 6), np.eye(4)), tmp_path / "an.hdr")
    image = tmp_path / "an.img"
    image.write_bytes(image.read_bytes()[:100])
    result = run("convert", tmp_path / "an.hdr", tmp_path / "an.npy")
    assert_one_error(result, image, "truncated: the header an.hdr announces 240 bytes, the file has 100")
    assert not (tmp_path / "an.npy").exists()


def test_what_itk_prints_while_reading_a_header_is_a_warning_not_raw_text(tmp_path):
    import nibabel as nib
    values = np.arange(120, dtype=np.int16).reshape(4, 5, 6)
    nib.save(nib.AnalyzeImage(values, np.eye(4)), tmp_path / "an.hdr")
    result = run("convert", tmp_path / "an.hdr", tmp_path / "an.npy")
    assert result.returncode == 0, result
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"medvol: warning: ITK printed while reading the header: {tmp_path}/an.hdr is Analyze file and it's deprecated", result.stderr
    assert len(lines) == 2 and lines[1].startswith("medvol: wrote "), result.stderr
    assert np.array_equal(np.load(tmp_path / "an.npy").ravel(), values.ravel(order="F"))
