"""HTJ2K (High-Throughput JPEG 2000, PS3.5 A.4.11): 1.2.840.10008.1.2.4.201 (lossless), .202 (lossless,
RPCL) and .203 (lossless or lossy), decoded by OpenJPEG 2.5.

The codestreams are made by OpenJPH's `ojph_compress` (Debian `openjph-tools`, an encoder independent of
OpenJPEG) from raw planar samples, wrapped into DICOM with pydicom (`encapsulate`). Every stream is first
shown to be what it claims: pydicom + pylibjpeg-openjpeg decode it to the array it was made from (lossless)
and report its precision and signedness; medvol must then give exactly that array (lossless), and exactly
pydicom's decoding (lossy).

OpenJPH 0.9 reads signed raw samples wrongly (negative values are clipped to 0), so a signed stream is made
the way the standard allows: the samples plus 2^(bits-1) are coded unsigned, whose DC level shift
(ITU-T T.800 G.1) codes exactly the signed values, and the sign bit of each component's Ssiz in the SIZ
segment is then set — the coded data are those of the signed samples.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import openjpeg
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import HTJ2K, HTJ2KLossless, HTJ2KLosslessRPCL

from conftest import run_medvol
from pixel_fixtures import (
    COLUMNS,
    ROWS,
    assert_voxels_equal,
    medvol_volume,
    noisy,
    pydicom_volume,
    rgb_frames,
    write_pixel_series,
)

OJPH = shutil.which("ojph_compress")
pytestmark = pytest.mark.skipif(OJPH is None, reason="ojph_compress (Debian openjph-tools, scripts/install-deps.sh) is missing")

NAMES = {HTJ2KLossless: "High-Throughput JPEG 2000 Lossless",
         HTJ2KLosslessRPCL: "High-Throughput JPEG 2000 Lossless (RPCL)",
         HTJ2K: "High-Throughput JPEG 2000"}
# Progression orders: RPCL for .202 (as its name says), others for the rest.
ORDERS = {HTJ2KLossless: "LRCP", HTJ2KLosslessRPCL: "RPCL", HTJ2K: "CPRL"}


def htj2k_encode(image: np.ndarray, bits: int, scratch: Path, *, order: str = "RPCL", lossy: bool = False,
                 colour_transform: bool = True) -> bytes:
    """One HTJ2K codestream of `image` ((rows, columns) or (rows, columns, 3)) at `bits` precision,
    signed when the array's dtype is."""
    rows, columns = image.shape[:2]
    components = 1 if image.ndim == 2 else image.shape[2]
    signed = image.dtype.kind == "i"
    planes = image[None] if components == 1 else image.transpose(2, 0, 1)
    unsigned = planes.astype(np.int64) + ((1 << (bits - 1)) if signed else 0)
    assert unsigned.min() >= 0 and unsigned.max() < (1 << bits)
    stream = scratch / "stream.j2c"
    if components == 1:
        raw = scratch / "samples.yuv"
        unsigned.astype("<u2" if bits > 8 else "u1").tofile(raw)
        command = [OJPH, "-i", str(raw), "-o", str(stream), "-dims", f"{{{columns},{rows}}}", "-num_comps", "1",
                   "-signed", "false", "-bit_depth", str(bits), "-downsamp", "{1,1}"]
    else:
        # ojph_compress takes colour (and applies its colour transform) from PPM files only.
        raw = scratch / "samples.ppm"
        header = f"P6\n{columns} {rows}\n{(1 << bits) - 1}\n".encode()
        raw.write_bytes(header + unsigned.transpose(1, 2, 0).astype(">u2" if bits > 8 else "u1").tobytes())
        command = [OJPH, "-i", str(raw), "-o", str(stream), "-colour_trans", "true" if colour_transform else "false"]
    command += ["-prog_order", order, "-reversible", "false" if lossy else "true"]
    if lossy:
        command += ["-qstep", "0.01"]
    subprocess.run(command, check=True, capture_output=True)
    codestream = bytearray(stream.read_bytes())
    # SOC, SIZ: Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz, then Ssiz XRsiz YRsiz per component.
    assert codestream[:4] == b"\xff\x4f\xff\x51" and int.from_bytes(codestream[40:42], "big") == components
    for c in range(components):
        assert codestream[42 + 3 * c] == bits - 1
        if signed:
            codestream[42 + 3 * c] |= 0x80
    codestream = bytes(codestream)
    parameters = openjpeg.get_parameters(codestream)
    assert parameters["precision"] == bits and parameters["is_signed"] == signed
    assert parameters["rows"] == rows and parameters["columns"] == columns
    # The CAP segment (FF 50) marks a high-throughput (Part 15) codestream.
    assert b"\xff\x50" in codestream[:200]
    if not lossy:
        decoded = openjpeg.decode(codestream)
        assert np.array_equal(decoded.astype(np.int64), image.astype(np.int64)), "OpenJPH's stream is not lossless"
    return codestream


def _encapsulated(folder: Path, frames: list[bytes] | list[list[bytes]], syntax: str, photometric: str | None = None,
                  multi_frame: int = 0) -> None:
    """Replaces the native pixel data of every file in `folder` (in name order) by HTJ2K fragments:
    `frames[k]` for file k — a codestream, or a list of fragments of one."""
    for k, path in enumerate(sorted(folder.iterdir())):
        ds = pydicom.dcmread(path)
        frame = frames[k]
        if isinstance(frame, list) and multi_frame:
            ds.PixelData = encapsulate(frame, has_bot=True)
            ds.NumberOfFrames = multi_frame
        elif isinstance(frame, list):
            # One frame in several fragments: a basic offset table is needed only for multi-frame data.
            item = lambda value: b"\xfe\xff\x00\xe0" + len(value).to_bytes(4, "little") + value
            ds.PixelData = item(b"") + b"".join(item(f) for f in frame)
        else:
            ds.PixelData = encapsulate([frame])
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        if photometric:
            ds.PhotometricInterpretation = photometric
        ds.file_meta.TransferSyntaxUID = syntax
        ds.save_as(path, enforce_file_format=True)


def _split(codestream: bytes, pieces: int) -> list[bytes]:
    """The codestream cut into `pieces` fragments of even length (PS3.5 A.4: items have even lengths)."""
    if len(codestream) % 2:
        codestream += b"\0"
    size = (len(codestream) // pieces + 1) & ~1
    return [codestream[at:at + size] for at in range(0, len(codestream), size)]


MONOCHROME = {
    # name: (dtype, low, high, bits stored = stream precision, bits allocated)
    "int16": (np.int16, -32768, 32767, 16),
    "int12": (np.int16, -2048, 2047, 12),
    "uint12": (np.uint16, 0, 4095, 12),
    "uint16": (np.uint16, 0, 65535, 16),
    "uint8": (np.uint8, 0, 255, 8),
    "int8": (np.int8, -128, 127, 8),
}


@pytest.mark.parametrize("syntax", [HTJ2KLossless, HTJ2KLosslessRPCL, HTJ2K])
@pytest.mark.parametrize("case", list(MONOCHROME))
def test_monochrome_is_exact(medvol, tmp_path, syntax, case):
    dtype, low, high, bits = MONOCHROME[case]
    truth = noisy((3, ROWS, COLUMNS), dtype, low, high, seed=31 + bits)
    folder = tmp_path / "series"
    write_pixel_series(folder, list(truth), bits_stored=bits, slope=1, intercept=0)
    _encapsulated(folder, [htj2k_encode(image, bits, tmp_path, order=ORDERS[syntax]) for image in truth], syntax)
    assert_voxels_equal(pydicom_volume(folder), truth, "pydicom's reading")
    actual, sidecar = medvol_volume(medvol, folder, tmp_path / "out")
    assert actual.dtype == np.dtype(dtype), f"{case}: {actual.dtype}"
    assert_voxels_equal(actual, truth, f"HTJ2K {case}")


def test_rescaled_ct_with_12_bits_stored(medvol, tmp_path):
    """Unsigned 12-bit CT with intercept −1024 (the usual scanner file): Hounsfield units as int16."""
    truth = noisy((4, ROWS, COLUMNS), np.uint16, 0, 4095, seed=3)
    folder = tmp_path / "series"
    write_pixel_series(folder, list(truth), bits_stored=12, slope=1, intercept=-1024)
    _encapsulated(folder, [htj2k_encode(image, 12, tmp_path) for image in truth], HTJ2KLossless)
    expected = truth.astype(np.int32) - 1024
    assert_voxels_equal(pydicom_volume(folder), expected, "pydicom's reading")
    actual, _ = medvol_volume(medvol, folder, tmp_path / "out")
    assert actual.dtype == np.int16
    assert_voxels_equal(actual, expected, "rescaled HTJ2K CT")


@pytest.mark.parametrize("colour_transform", [True, False])
@pytest.mark.parametrize("dtype,bits", [(np.uint8, 8), (np.uint16, 16)])
def test_rgb(medvol, tmp_path, colour_transform, dtype, bits):
    """RGB, with the reversible colour transform (Photometric Interpretation YBR_RCT, undone by OpenJPEG)
    or without (RGB)."""
    truth = rgb_frames(dtype, seed=8)
    folder = tmp_path / "series"
    write_pixel_series(folder, list(truth), photometric="RGB")
    streams = [htj2k_encode(image, bits, tmp_path, colour_transform=colour_transform) for image in truth]
    _encapsulated(folder, streams, HTJ2KLossless, photometric="YBR_RCT" if colour_transform else "RGB")
    assert_voxels_equal(pydicom_volume(folder), truth, "pydicom's reading")
    actual, sidecar = medvol_volume(medvol, folder, tmp_path / "out")
    assert sidecar["components"] == 3 and actual.dtype == np.dtype(dtype)
    assert_voxels_equal(actual, truth, "HTJ2K RGB")


def test_lossy_equals_pydicom(medvol, tmp_path):
    """.203 lossy (irreversible 9/7 wavelet): no source to equal, so pydicom + pylibjpeg-openjpeg's decoding
    is the reference, exactly."""
    truth = noisy((3, ROWS, COLUMNS), np.int16, -1024, 3071, seed=12)
    folder = tmp_path / "series"
    write_pixel_series(folder, list(truth), slope=1, intercept=0)
    _encapsulated(folder, [htj2k_encode(image, 16, tmp_path, lossy=True) for image in truth], HTJ2K)
    expected = pydicom_volume(folder)
    assert not np.array_equal(expected, truth), "the stream should be lossy"
    assert np.abs(expected.astype(np.int64) - truth).mean() < 50
    actual, _ = medvol_volume(medvol, folder, tmp_path / "out")
    assert_voxels_equal(actual, expected, "lossy HTJ2K")


@pytest.mark.parametrize("syntax", [HTJ2KLossless, HTJ2KLosslessRPCL])
def test_multi_frame_with_fragments_spanning_items(medvol, tmp_path, syntax):
    """One multi-frame file of 5 frames, each frame's codestream cut into three fragments behind a
    basic offset table; and the same frames without an offset table (found by their SOC+SIZ markers)."""
    truth = noisy((5, 40, 52), np.int16, -1000, 3000, seed=44)
    streams = [htj2k_encode(image, 16, tmp_path, order=ORDERS[syntax]) for image in truth]

    def multiframe(ds, k):
        ds.NumberOfFrames = len(truth)
        ds.SpacingBetweenSlices = 2.0
        ds.PixelData = truth.astype("<i2").tobytes()

    for table in (True, False):
        folder = tmp_path / f"table-{table}"
        write_pixel_series(folder, [truth[0]], modality="MR", slope=1, intercept=0, extra=multiframe)
        path = next(folder.iterdir())
        ds = pydicom.dcmread(path)
        fragments = [_split(stream, 3) for stream in streams]
        assert all(len(f) == 3 for f in fragments)
        item = lambda value: b"\xfe\xff\x00\xe0" + len(value).to_bytes(4, "little") + value
        offsets, at = [], 0
        for frame in fragments:
            offsets.append(at)
            at += sum(8 + len(piece) for piece in frame)
        bot = b"".join(o.to_bytes(4, "little") for o in offsets) if table else b""
        ds.PixelData = item(bot) + b"".join(item(piece) for frame in fragments for piece in frame)
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        ds.file_meta.TransferSyntaxUID = syntax
        ds.save_as(path, enforce_file_format=True)
        assert_voxels_equal(pydicom_volume(folder)[0], truth, "pydicom's reading")
        actual, sidecar = medvol_volume(medvol, folder, tmp_path / f"out-{table}")
        assert sidecar["size"] == [52, 40, 5]
        assert_voxels_equal(actual, truth, f"multi-frame HTJ2K, offset table {table}")


def test_a_single_frame_in_several_fragments(medvol, tmp_path):
    truth = noisy((2, ROWS, COLUMNS), np.uint16, 0, 4095, seed=9)
    folder = tmp_path / "series"
    write_pixel_series(folder, list(truth), bits_stored=12, slope=1, intercept=0)
    _encapsulated(folder, [_split(htj2k_encode(image, 12, tmp_path), 4) for image in truth], HTJ2KLossless)
    assert_voxels_equal(pydicom_volume(folder), truth, "pydicom's reading")
    actual, _ = medvol_volume(medvol, folder, tmp_path / "out")
    assert_voxels_equal(actual, truth, "fragmented HTJ2K")


@pytest.mark.parametrize("syntax", [HTJ2KLossless, HTJ2KLosslessRPCL, HTJ2K])
def test_series_info_and_dump_name_the_syntax(medvol, tmp_path, syntax):
    truth = noisy((2, ROWS, COLUMNS), np.int16, -100, 100, seed=2)
    folder = tmp_path / "series"
    write_pixel_series(folder, list(truth), slope=1, intercept=0)
    _encapsulated(folder, [htj2k_encode(image, 16, tmp_path) for image in truth], syntax)
    name = NAMES[syntax]
    listing = medvol("series", folder, "--json").json()
    assert listing["stacks"][0]["storedPixels"].endswith(f", {name}"), listing["stacks"][0]
    info = medvol("info", folder).stdout
    assert name in info, info
    dump = medvol("dump", sorted(folder.iterdir())[0], "--grep", "TransferSyntax").stdout
    assert syntax in dump and name in dump, dump


def test_a_stream_larger_than_the_header_says_is_refused(medvol, tmp_path):
    """The output size comes from the DICOM header: a codestream declaring another size is an error
    naming both sizes, before anything of the stream's size is allocated."""
    truth = noisy((1, ROWS, COLUMNS), np.int16, -100, 100, seed=4)
    folder = tmp_path / "series"
    write_pixel_series(folder, list(truth), slope=1, intercept=0)
    bigger = htj2k_encode(np.zeros((ROWS * 2, COLUMNS), np.int16), 16, tmp_path)
    _encapsulated(folder, [bigger], HTJ2KLossless)
    result = run_medvol("convert", folder, tmp_path / "x.npy", "--quiet", check=False)
    assert result.returncode == 1, result
    path = str(next(folder.iterdir()))
    assert f"medvol: error: {path}:" in result.stderr, result.stderr
    assert f"{COLUMNS}×{ROWS * 2}" in result.stderr and f"{COLUMNS}×{ROWS}" in result.stderr, result.stderr
