"""Every transfer syntax GDCM decodes (and the ones medvol decodes itself), from one set of source series:
medvol's voxels equal pydicom's reading of the same files (with its pylibjpeg plugins, then the Modality
LUT) — exactly for lossless syntaxes, where they must also equal the values the series was written with;
for lossy ones, pydicom's decoding of the same lossy stream.

Lossy JPEG (baseline, extended) has no single right answer between decoders; `assert_lossy_jpeg` (in
pixel_fixtures.py) says what is checked instead: equality with dcmtk's own IJG decoder, and a mean
difference from pydicom's libjpeg under one coded level.

The source series are made once per session (`library`); each encoding of a source is made on first use.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import convert_color_space
from pydicom.uid import UID

from pixel_fixtures import (
    COLUMNS, ROWS, SLICES, assert_lossy_jpeg, assert_voxels_equal, medvol_volume, noisy, pydicom_volume, rgb_frames,
    slice_order, spec_dtype, transcode, write_pixel_series,
)
from pixel_fixtures import _tool

SHAPE = (SLICES, ROWS, COLUMNS)


class SeriesLibrary:
    """Source series (written by pydicom) and their encodings, made on demand and kept for the session."""

    def __init__(self, root: Path):
        self.root = root
        self.truth: dict[str, np.ndarray] = {}

    def source(self, name: str) -> Path:
        folder = self.root / name / "source"
        if not folder.exists():
            self.truth[name] = SOURCES[name](folder)
        return folder

    def encoded(self, name: str, encoder: str) -> Path:
        source = self.source(name)
        folder = self.root / name / encoder
        if not folder.exists():
            try:
                transcode(source, folder, encoder)
            except Exception:
                shutil.rmtree(folder, ignore_errors=True)
                raise
        return folder


def _ct_int16(folder):
    """CT stored signed, 16 bits, the whole int16 range present."""
    values = noisy(SHAPE, np.int16, -1024, 3071, seed=1)
    values[0, 1, 0], values[0, 1, 1] = -32768, 32767
    write_pixel_series(folder, list(values), slope=1, intercept=0)
    return values


def _ct_uint12(folder):
    """CT stored unsigned, 12 of 16 bits, intercept −1024 (HU −1024…3071): must become int16."""
    values = noisy(SHAPE, np.uint16, 0, 4095, seed=2)
    write_pixel_series(folder, list(values), bits_stored=12, slope=1, intercept=-1024)
    return values.astype(np.int32) - 1024


def _mono8(folder):
    values = noisy(SHAPE, np.uint8, 0, 255, seed=3)
    write_pixel_series(folder, list(values), modality="MR")
    return values


def _rgb8(folder):
    values = rgb_frames(np.uint8, seed=4)
    write_pixel_series(folder, list(values), photometric="RGB", modality="OT")
    return values


def _rgb8_planar(folder):
    values = rgb_frames(np.uint8, seed=5)
    write_pixel_series(folder, list(values), photometric="RGB", planar=1, modality="OT")
    return values


def _rgb16(folder):
    values = rgb_frames(np.uint16, seed=6)
    write_pixel_series(folder, list(values), photometric="RGB", modality="OT")
    return values


SOURCES = {"ct_int16": _ct_int16, "ct_uint12": _ct_uint12, "mono8": _mono8, "rgb8": _rgb8,
           "rgb8_planar": _rgb8_planar, "rgb16": _rgb16}

ALL = tuple(SOURCES)
MONO16 = ("ct_int16", "ct_uint12")
COLOUR8 = ("rgb8", "rgb8_planar")

# (encoder, transfer syntax it must produce, sources it applies to, lossless?)
MATRIX = [
    ("explicit", "1.2.840.10008.1.2.1", ALL, True),
    ("implicit", "1.2.840.10008.1.2", ALL, True),
    ("big_endian_dcmtk", "1.2.840.10008.1.2.2", ALL, True),
    ("deflated", "1.2.840.10008.1.2.1.99", ALL, True),
    # gdcmconv --rle fails an assertion on 8-bit images of odd width, so only 16-bit sources
    ("rle_gdcm", "1.2.840.10008.1.2.5", (*MONO16, "rgb16"), True),
    ("rle_dcmtk", "1.2.840.10008.1.2.5", ALL, True),
    ("rle_pydicom", "1.2.840.10008.1.2.5", ALL, True),
    ("jpeg_lossless_sv1", "1.2.840.10008.1.2.4.70", ALL, True),
    ("jpeg_lossless_p14", "1.2.840.10008.1.2.4.57", ALL, True),
    # dcmtk rescales 16-bit data into 8 bits for baseline and writes the new Rescale Slope/Intercept
    ("jpeg_baseline_dcmtk", "1.2.840.10008.1.2.4.50", ALL, False),
    # GDCM writes YCbCr streams labelled RGB; pydicom, dcmtk and GDCM all read them as stored
    ("jpeg_baseline_gdcm", "1.2.840.10008.1.2.4.50", ("mono8", *COLOUR8), False),
    ("jpeg_baseline_rgb", "1.2.840.10008.1.2.4.50", COLOUR8, False),
    ("jpeg_baseline_444", "1.2.840.10008.1.2.4.50", COLOUR8, False),
    ("jpeg_extended", "1.2.840.10008.1.2.4.51", ("ct_uint12", "mono8", *COLOUR8), False),
    ("jpegls_gdcm", "1.2.840.10008.1.2.4.80", ALL, True),
    ("jpegls_line", "1.2.840.10008.1.2.4.80", ("rgb8", "rgb8_planar", "rgb16"), True),
    ("jpegls_sample", "1.2.840.10008.1.2.4.80", ("rgb8", "rgb16"), True),
    ("jpegls_none", "1.2.840.10008.1.2.4.80", ("rgb8", "rgb16"), True),
    ("jpegls_near_gdcm", "1.2.840.10008.1.2.4.81", ALL, False),
    # dcmtk refuses signed data for near-lossless JPEG-LS
    ("jpegls_near_dcmtk", "1.2.840.10008.1.2.4.81", ("ct_uint12", "mono8", "rgb8"), False),
    # GDCM cannot encode 16-bit RGB as JPEG 2000; pylibjpeg-openjpeg can
    ("j2k_gdcm", "1.2.840.10008.1.2.4.90", ("ct_int16", "ct_uint12", "mono8", *COLOUR8), True),
    ("j2k_pydicom", "1.2.840.10008.1.2.4.90", ALL, True),
    ("j2k_lossy_gdcm", "1.2.840.10008.1.2.4.91", ALL, False),
    ("j2k_lossy_pydicom", "1.2.840.10008.1.2.4.91", ALL, False),
]

CASES = [pytest.param(source, encoder, syntax, lossless, id=f"{source}-{encoder}")
         for encoder, syntax, sources, lossless in MATRIX for source in sources]


@pytest.fixture(scope="session")
def library(tmp_path_factory) -> SeriesLibrary:
    return SeriesLibrary(tmp_path_factory.mktemp("transfer-syntaxes"))


def expected_dtype(source: str, folder: Path, expected: np.ndarray) -> np.dtype:
    ds = pydicom.dcmread(next(folder.iterdir()), stop_before_pixels=True)
    if ds.SamplesPerPixel == 3:
        return np.dtype(np.uint8 if ds.BitsAllocated == 8 else np.uint16)
    stored = np.dtype(f"{'i' if ds.PixelRepresentation else 'u'}{ds.BitsAllocated // 8}")
    slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
    return spec_dtype(expected, stored, slope.is_integer() and intercept.is_integer())


@pytest.mark.parametrize("source,encoder,syntax,lossless", CASES)
def test_voxels_equal_pydicom(library, medvol, tmp_path, source, encoder, syntax, lossless):
    folder = library.encoded(source, encoder)
    files = sorted(folder.iterdir())
    assert len(files) == SLICES
    for path in files:
        assert pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID == syntax, \
            f"{encoder} did not write {UID(syntax).name}"

    expected = pydicom_volume(folder, prepare=_planar_configuration_is_irrelevant_for_j2k)
    actual, sidecar = medvol_volume(medvol, folder, tmp_path)
    assert actual.dtype == expected_dtype(source, folder, expected), f"voxel type {actual.dtype}"
    assert sidecar["pixelType"] == str(actual.dtype)

    if encoder.startswith("jpeg_baseline") or encoder == "jpeg_extended":
        assert_lossy_jpeg(actual, folder, tmp_path, f"{source} as {encoder}")
    else:
        assert_voxels_equal(actual, expected, f"{source} as {encoder} against pydicom")
    if lossless:
        truth = library.truth[source]
        assert_voxels_equal(actual, truth, f"{source} as {encoder} against the values written")
    else:
        # A lossy stream still has to resemble the source (a decoder that returns garbage for both
        # medvol and pydicom must not pass).
        reference = library.truth[source].astype(np.float64)
        if reference.ndim == 4:
            written_bits = library.truth[source].dtype.itemsize * 8
            reference = reference * (np.iinfo(actual.dtype).max / (2 ** written_bits - 1))
            if encoder == "jpeg_baseline_gdcm":
                # GDCM writes a YCbCr stream but leaves Photometric Interpretation RGB; pydicom, dcmtk and
                # GDCM itself read it as stored, and so does medvol: the voxels are the YCbCr values.
                reference = convert_color_space(reference.round().astype(np.uint8), "RGB", "YBR_FULL").astype(np.float64)
        error = np.abs(actual.astype(np.float64) - reference)
        span = reference.max() - reference.min()
        assert error.mean() < 0.1 * span, f"lossy result too far from the source (mean error {error.mean()})"


def _planar_configuration_is_irrelevant_for_j2k(ds: pydicom.Dataset):
    """PS3.5 8.2.4: Planar Configuration does not apply to JPEG 2000 (its decoders give interleaved
    pixels). pydicom's own J2K encoder leaves a planar source's 1 in place, and pydicom's decoder then
    de-planarizes interleaved pixels; medvol ignores the attribute, so the oracle does too."""
    if ds.file_meta.TransferSyntaxUID in ("1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91") and ds.SamplesPerPixel == 3:
        ds.PlanarConfiguration = 0


def test_the_matrix_covers_every_syntax_gdcm_decodes():
    """JPEG baseline, extended, lossless (both), JPEG-LS (both), JPEG 2000 (both), RLE, deflate, the
    three uncompressed syntaxes."""
    covered = {syntax for _, syntax, _, _ in MATRIX}
    assert covered == {
        "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
    }


def test_a_series_mixing_transfer_syntaxes_is_one_volume(library, medvol, tmp_path):
    """Slices of one series in three different syntaxes (a PACS export can look like this)."""
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    encoders = ["rle_pydicom", "jpegls_gdcm", "j2k_gdcm"]
    for k, path in enumerate(slice_order(library.source("ct_int16").iterdir())):
        encoded = library.encoded("ct_int16", encoders[k % len(encoders)])
        shutil.copy(encoded / path.name, mixed / path.name)
    actual, _ = medvol_volume(medvol, mixed, tmp_path / "out")
    assert actual.dtype == np.int16
    assert_voxels_equal(actual, library.truth["ct_int16"], "mixed syntaxes")


# MARK: Multi-frame encapsulated pixel data

MULTIFRAME_ENCODINGS = {
    # name: (command, transfer syntax)
    "jpeg_one_fragment_per_frame": (("dcmcjpeg", "+el"), "1.2.840.10008.1.2.4.57"),
    "jpeg_1k_fragments_with_offset_table": (("dcmcjpeg", "+el", "+fs", "1"), "1.2.840.10008.1.2.4.57"),
    "jpeg_1k_fragments_without_offset_table": (("dcmcjpeg", "+el", "+fs", "1", "-ot"), "1.2.840.10008.1.2.4.57"),
    "jpegls": (("dcmcjpls", "+fs", "1"), "1.2.840.10008.1.2.4.80"),
    "jpegls_gdcm": (("/usr/bin/gdcmconv", "--jpegls"), "1.2.840.10008.1.2.4.80"),
    "j2k_gdcm": (("/usr/bin/gdcmconv", "--j2k"), "1.2.840.10008.1.2.4.90"),
    "rle_dcmtk": (("dcmcrle",), "1.2.840.10008.1.2.5"),
    "rle_dcmtk_1k_fragments": (("dcmcrle", "+fs", "1"), "1.2.840.10008.1.2.5"),
}


@pytest.fixture(scope="session")
def multiframe_source(tmp_path_factory):
    """One multi-frame MR file (6 frames of 40×52, int16) with a position, an orientation and a spacing,
    so its frames are slices along the normal."""
    folder = tmp_path_factory.mktemp("multiframe")
    values = noisy((6, 40, 52), np.int16, -500, 2500, seed=17)

    def multiframe(ds, k):
        ds.NumberOfFrames = len(values)
        ds.SpacingBetweenSlices = 2.0
        ds.PixelData = values.astype("<i2").tobytes()

    write_pixel_series(folder / "source", [values[0]], modality="MR", extra=multiframe)
    return folder, values


@pytest.mark.parametrize("encoding", list(MULTIFRAME_ENCODINGS))
def test_multiframe_encapsulated(medvol, tmp_path, multiframe_source, encoding):
    root, values = multiframe_source
    command, syntax = MULTIFRAME_ENCODINGS[encoding]
    folder = tmp_path / encoding
    folder.mkdir()
    source = next((root / "source").iterdir())
    _tool(*command)(source, folder / "mf.dcm")
    ds = pydicom.dcmread(folder / "mf.dcm")
    assert ds.file_meta.TransferSyntaxUID == syntax
    fragments = sum(1 for _ in pydicom.encaps.generate_fragments(ds.PixelData))
    if "1k" in encoding:
        assert fragments > len(values), "the encoder was asked for several fragments per frame"
    expected = pydicom_volume(folder)[0]
    assert_voxels_equal(expected, values, "pydicom's reading")
    actual, sidecar = medvol_volume(medvol, folder, tmp_path / "out")
    assert sidecar["size"] == [52, 40, 6] and sidecar["spacing"][2] == pytest.approx(2.0)
    assert_voxels_equal(actual, values, f"multi-frame {encoding}")


def _with_offset_table(ds: pydicom.Dataset, offsets) -> None:
    """Re-encapsulates `ds`'s fragments behind a Basic Offset Table holding `offsets`."""
    fragments = list(pydicom.encaps.generate_fragments(ds.PixelData))[1:]   # without the old table
    item = lambda value: b"\xfe\xff\x00\xe0" + len(value).to_bytes(4, "little") + value
    table = b"".join(int(offset).to_bytes(4, "little") for offset in offsets)
    ds.PixelData = item(table) + b"".join(item(fragment) for fragment in fragments)


@pytest.mark.parametrize("lie", ["second_fragments", "all_zero", "past_the_end", "descending"])
def test_an_offset_table_that_lies_is_not_believed(medvol, tmp_path, multiframe_source, lie):
    """A Basic Offset Table that does not match the fragments (offsets inside frames, not increasing,
    or past the data) is ignored: frames are found by their JPEG start markers instead."""
    root, values = multiframe_source
    source = next((root / "source").iterdir())
    _tool("dcmcjpeg", "+el", "+fs", "1")(source, tmp_path / "good.dcm")
    ds = pydicom.dcmread(tmp_path / "good.dcm")
    fragments = list(pydicom.encaps.generate_fragments(ds.PixelData))[1:]
    item_offsets = np.cumsum([0] + [8 + len(f) for f in fragments])[:-1]
    true_starts = [offset for offset, fragment in zip(item_offsets, fragments) if fragment[:2] == b"\xff\xd8"]
    assert len(true_starts) == len(values) and len(fragments) > len(values)
    lies = {
        "second_fragments": [item_offsets[list(item_offsets).index(start) + 1] for start in true_starts],
        "all_zero": [0] * len(values),
        "past_the_end": [start + 10_000_000 for start in true_starts],
        "descending": list(reversed(true_starts)),
    }
    _with_offset_table(ds, lies[lie])
    folder = tmp_path / "lying"
    folder.mkdir()
    ds.save_as(folder / "mf.dcm", enforce_file_format=True)
    actual, _ = medvol_volume(medvol, folder, tmp_path / "out")
    assert_voxels_equal(actual, values, f"offset table lying ({lie})")
