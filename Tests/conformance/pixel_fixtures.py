"""Pixel fixtures: series with known stored values written by pydicom, transcoded by independent encoders
(gdcmconv, dcmtk, pydicom's own and pylibjpeg's), and pydicom's reading of any of them as the oracle.

medvol is always run as a command (`medvol convert SRC OUT.npy`) and its .npy compared with what pydicom
makes of the same files: `pixel_array`, then the Modality LUT (`apply_modality_lut`), or the palette
(`apply_color_lut`); colour comes out as RGB (pydicom converts YBR itself).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Callable

import numpy as np
import pydicom
from pydicom.filewriter import dcmwrite
from pydicom.pixels import apply_color_lut, apply_modality_lut
from pydicom.uid import (
    JPEG2000,
    JPEG2000Lossless,
    RLELossless,
)

from dicom_fixtures import SeriesSpec, pattern, write_series
from oracles import load_npy_with_sidecar

GDCMCONV = "/usr/bin/gdcmconv"   # Debian's GDCM 3.0.21, the version medvol links (not python-gdcm's)
ROWS, COLUMNS, SLICES = 33, 45, 3  # odd sizes: no codec gets a multiple of 8 or 16 for free


# MARK: Writing series

def write_pixel_series(folder: Path, frames: list[np.ndarray], *, photometric: str = "MONOCHROME2",
                       bits_allocated: int | None = None, bits_stored: int | None = None, signed: bool | None = None,
                       planar: int = 0, modality: str = "CT", slope=None, intercept=None,
                       extra: Callable[[pydicom.Dataset, int], None] | None = None, seed: int = 0) -> list[Path]:
    """One file per slice, slice k at position k along z. `frames[k]` holds the stored values, shaped
    (rows, columns) or (rows, columns, 3) for colour (always given interleaved; written planar when
    `planar` is 1). `extra(ds, k)` may change anything before the file is saved."""
    first = np.asarray(frames[0])
    rows, columns = first.shape[:2]
    spec = SeriesSpec(values=np.zeros((len(frames), rows, columns), np.uint8), modality=modality,
                      origin=(-40.0, -30.0, 10.0 + seed), spacing=(0.75, 0.5, 2.0))
    paths = write_series(folder, spec)
    for k, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        image = np.asarray(frames[k])
        samples = 3 if image.ndim == 3 else 1
        allocated = bits_allocated or image.dtype.itemsize * 8
        ds.SamplesPerPixel = samples
        ds.PhotometricInterpretation = photometric
        if samples == 3:
            ds.PlanarConfiguration = planar
        ds.BitsAllocated = allocated
        ds.BitsStored = bits_stored or allocated
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = int(signed if signed is not None else image.dtype.kind == "i")
        for keyword in ("RescaleSlope", "RescaleIntercept"):
            if keyword in ds:
                del ds[keyword]
        if slope is not None:
            ds.RescaleSlope = slope
        if intercept is not None:
            ds.RescaleIntercept = intercept
        if allocated == 1:
            ds.PixelData = np.packbits(image.astype(np.uint8).ravel(), bitorder="little").tobytes()
        else:
            data = image.transpose(2, 0, 1) if samples == 3 and planar else image
            raw = np.ascontiguousarray(data).astype(image.dtype.newbyteorder("<")).tobytes()
            ds.PixelData = raw + (b"\0" if len(raw) % 2 else b"")
        ds["PixelData"].VR = "OB" if allocated <= 8 else "OW"
        if extra:
            extra(ds, k)
        ds.save_as(path, enforce_file_format=True)
    return paths


def noisy(shape, dtype, low: int, high: int, seed: int = 0) -> np.ndarray:
    """A pattern that differs per slice, row and column, with noise (so lossy codecs have work to do),
    and both ends of [low, high] present in the first slice."""
    nz, ny, nx = shape
    rng = np.random.default_rng(seed)
    span = high - low + 1
    values = pattern(nz, ny, nx, dtype=np.int64, low=0, span=span, seed=seed) + rng.integers(0, max(2, span // 64), shape)
    values = np.clip(values % span + low, low, high)
    values[0, 0, 0], values[0, 0, 1] = low, high
    return values.astype(dtype)


def rgb_frames(dtype=np.uint8, seed: int = 0, slices: int = SLICES, rows: int = ROWS, columns: int = COLUMNS) -> np.ndarray:
    """(slices, rows, columns, 3): smooth colour ramps plus noise, full range present."""
    rng = np.random.default_rng(seed)
    high = np.iinfo(dtype).max
    y, x = np.mgrid[0:rows, 0:columns]
    frames = []
    for k in range(slices):
        red = (x * 5 + k * 20) / (columns * 5 + 60)
        green = (y * 7) / (rows * 7)
        blue = ((x + y) * 3 + rng.integers(0, 20, (rows, columns))) / ((rows + columns) * 3 + 20)
        image = np.stack([red, green, blue], -1) * high
        frames.append(np.clip(np.rint(image), 0, high).astype(dtype))
    volume = np.stack(frames)
    volume[0, 0, 0] = [0, high, 0]
    return volume


# MARK: Transcoding

def _tool(*command: str) -> Callable[[Path, Path], None]:
    def run(source: Path, target: Path):
        result = subprocess.run([*command, str(source), str(target)], capture_output=True, text=True)
        if result.returncode != 0 or not target.exists():
            raise RuntimeError(f"{' '.join(command)} {source.name} failed: {result.stderr.strip()[-400:]}")
    return run


def _pydicom_compress(syntax, **options) -> Callable[[Path, Path], None]:
    def run(source: Path, target: Path):
        ds = pydicom.dcmread(source)
        # Handing over the array (always interleaved) rather than the bytes: pydicom's RLE encoder reads
        # the bytes of a planar (Planar Configuration 1) image as if they were interleaved.
        ds.compress(syntax, ds.pixel_array, **options)
        ds.save_as(target, enforce_file_format=True)
    return run


def _pydicom_big_endian(source: Path, target: Path):
    """Explicit VR Big Endian as pydicom writes and reads it: every pixel cell big endian, whatever its
    size (dcmtk's dcmconv +tb swaps 32-bit cells as two 16-bit OW words instead)."""
    ds = pydicom.dcmread(source)
    array = ds.pixel_array
    if ds.SamplesPerPixel == 3 and ds.get("PlanarConfiguration", 0) == 1:
        array = array.transpose(2, 0, 1)
    ds.PixelData = np.ascontiguousarray(array).astype(array.dtype.newbyteorder(">")).tobytes()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRBigEndian
    dcmwrite(target, ds, implicit_vr=False, little_endian=False, enforce_file_format=True)


ENCODERS: dict[str, Callable[[Path, Path], None]] = {
    "explicit": lambda source, target: shutil.copy(source, target),
    "implicit": _tool(GDCMCONV, "--implicit"),
    "big_endian_dcmtk": _tool("dcmconv", "+tb"),
    "big_endian_pydicom": _pydicom_big_endian,
    "deflated": _tool(GDCMCONV, "--deflated"),
    "rle_gdcm": _tool(GDCMCONV, "--rle"),
    "rle_dcmtk": _tool("dcmcrle"),
    "rle_pydicom": _pydicom_compress(RLELossless, encoding_plugin="pydicom"),
    "jpeg_lossless_sv1": _tool(GDCMCONV, "--jpeg"),
    "jpeg_lossless_p14": _tool("dcmcjpeg", "+el"),
    "jpeg_baseline_dcmtk": _tool("dcmcjpeg", "+eb"),
    "jpeg_baseline_gdcm": _tool(GDCMCONV, "--jpeg", "--lossy", "-q", "90"),
    "jpeg_baseline_rgb": _tool("dcmcjpeg", "+eb", "+cr"),
    "jpeg_baseline_444": _tool("dcmcjpeg", "+eb", "+s4"),
    "jpeg_extended": _tool("dcmcjpeg", "+ee"),
    "jpegls_gdcm": _tool(GDCMCONV, "--jpegls"),
    "jpegls_line": _tool("dcmcjpls", "+il"),
    "jpegls_sample": _tool("dcmcjpls", "+is"),
    "jpegls_none": _tool("dcmcjpls", "+in"),
    "jpegls_near_gdcm": _tool(GDCMCONV, "--jpegls", "--lossy", "-e", "2"),
    "jpegls_near_dcmtk": _tool("dcmcjpls", "+en", "+md", "3"),
    "j2k_gdcm": _tool(GDCMCONV, "--j2k"),
    "j2k_pydicom": _pydicom_compress(JPEG2000Lossless, encoding_plugin="pylibjpeg"),
    "j2k_lossy_gdcm": _tool(GDCMCONV, "--j2k", "--lossy", "-r", "5"),
    "j2k_lossy_pydicom": _pydicom_compress(JPEG2000, encoding_plugin="pylibjpeg", j2k_cr=[5]),
}


def transcode(source: Path, target: Path, encoder: str) -> Path:
    """Every file of folder `source` through `encoder` into folder `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        ENCODERS[encoder](path, target / path.name)
    return target


# MARK: Oracles

def slice_order(paths) -> list[Path]:
    """Files sorted by position along the slice normal (as medvol must sort them)."""
    def distance(path):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        orientation = np.array(ds.ImageOrientationPatient, dtype=float)
        normal = np.cross(orientation[:3], orientation[3:])
        return float(np.dot(np.array(ds.ImagePositionPatient, dtype=float), normal))
    return sorted(paths, key=distance)


def pydicom_image(ds: pydicom.Dataset) -> np.ndarray:
    """What pydicom says one file's voxel values are: RGB for colour (palette applied, YBR converted),
    the Modality LUT applied otherwise. JPEG-family streams are decoded with the pylibjpeg plugins
    (libjpeg, OpenJPEG, CharLS builds of their own), never with python-gdcm where it happens to be
    installed: the oracle must not be the library medvol itself uses."""
    if str(ds.file_meta.TransferSyntaxUID).startswith("1.2.840.10008.1.2.4."):
        ds.pixel_array_options(decoding_plugin="pylibjpeg")
    array = ds.pixel_array
    if ds.PhotometricInterpretation == "PALETTE COLOR":
        return apply_color_lut(array, ds)
    if ds.SamplesPerPixel == 3:
        return array
    return apply_modality_lut(array, ds)


def pydicom_volume(folder: Path, prepare: Callable[[pydicom.Dataset], None] | None = None) -> np.ndarray:
    """pydicom's voxels of every file in `folder`, in slice order; `prepare(ds)` may correct a data set
    before it is decoded."""
    images = []
    for path in slice_order(Path(folder).iterdir()):
        ds = pydicom.dcmread(path)
        if prepare:
            prepare(ds)
        images.append(pydicom_image(ds))
    return np.stack(images)


def medvol_volume(medvol, source, out_dir: Path, *extra) -> tuple[np.ndarray, dict]:
    """medvol's voxels: `medvol convert SOURCE OUT.npy`, then np.load and the JSON sidecar."""
    out_dir.mkdir(parents=True, exist_ok=True)
    npy = out_dir / "medvol.npy"
    medvol("convert", source, npy, "--quiet", *extra)
    return load_npy_with_sidecar(npy)


def spec_dtype(values: np.ndarray, stored: np.dtype, integral: bool) -> np.dtype:
    """The SPEC's voxel type for monochrome `values` stored as `stored`: the stored type if it holds every
    value, else the smallest of uint8, int8, uint16, int16, uint32, int32 that does; float32 when the
    mapping is not integral."""
    if not integral:
        return np.dtype(np.float32)
    low, high = values.min(), values.max()
    for dtype in (np.dtype(stored), *map(np.dtype, (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32))):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return dtype
    return np.dtype(np.float64)


def assert_voxels_equal(actual: np.ndarray, expected: np.ndarray, what: str = ""):
    """Same shape, and the same values once `expected` is cast to medvol's type (exactly: for float32
    outputs, the float64 oracle rounded once to float32)."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    cast = expected.astype(actual.dtype)
    assert np.array_equal(cast.astype(np.float64), expected.astype(np.float64)) or actual.dtype.kind == "f", \
        f"{what}: the oracle's values do not fit medvol's {actual.dtype}"
    if not np.array_equal(actual, cast):
        diff = np.abs(actual.astype(np.float64) - cast.astype(np.float64))
        where = tuple(int(i) for i in np.argwhere(diff > 0)[0])
        raise AssertionError(f"{what}: {int((diff > 0).sum())} of {diff.size} voxels differ, max |diff| {diff.max()}, "
                             f"first at {where}: medvol {actual[where]} expected {cast[where]}")


def assert_lossy_jpeg(actual: np.ndarray, folder: Path, scratch: Path, what: str = "lossy JPEG"):
    """Lossy JPEG (baseline, extended) has no single right answer: IJG (GDCM, dcmtk) and libjpeg (pydicom)
    round inverse DCTs and colour conversion differently, by a few levels of the coded precision (one 8-bit
    level is 257 units of 16-bit data coded as 8-bit). The reference is dcmtk's own IJG decoder
    (`dcmdjpeg`): medvol equals it exactly for monochrome, and within one level on fewer than 1% of the
    voxels for colour (dcmtk converts YCbCr to RGB with integer tables, medvol with pydicom's formula).
    Against pydicom the mean difference stays under one coded level (measured: up to 0.32), which any real
    decoding error — a wrong colour space, a wrong sign, a shifted frame — exceeds by far."""
    reference = scratch / "dcmdjpeg"
    reference.mkdir(parents=True, exist_ok=True)
    for path in Path(folder).iterdir():
        _tool("dcmdjpeg")(path, reference / path.name)
    ijg = pydicom_volume(reference)
    if actual.ndim == 3:
        assert_voxels_equal(actual, ijg, f"{what} against dcmdjpeg (IJG)")
    else:
        against_ijg = np.abs(actual.astype(np.float64) - ijg.astype(np.float64))
        assert against_ijg.max() <= 1, f"{what}: differs from dcmdjpeg by up to {against_ijg.max()}"
        assert (against_ijg > 0).mean() < 0.01, f"{what}: {(against_ijg > 0).mean():.2%} of voxels differ from dcmdjpeg"
    header = pydicom.dcmread(next(Path(folder).iterdir()), stop_before_pixels=True)
    stored_bits = int(header.BitsStored)
    coded_bits = 12 if header.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.51" and stored_bits > 8 else 8
    level = max(1.0, (2 ** stored_bits - 1) / (2 ** coded_bits - 1)) * abs(float(header.get("RescaleSlope", 1)))
    difference = np.abs(actual.astype(np.float64) - pydicom_volume(folder).astype(np.float64)) / level
    assert difference.mean() < 1.0, f"{what}: differs from pydicom by {difference.mean():.3f} coded levels on average"


# MARK: Hand-made encodings

def rle_encode_frame(image: np.ndarray) -> bytes:
    """One frame as DICOM RLE (PS3.5 Annex G), for sample sizes pydicom's encoder refuses (32-bit RGB):
    one PackBits segment per byte plane — sample by sample, most significant byte first — each row
    encoded separately (pydicom's own row encoder), after a 64-byte header of segment offsets."""
    from pydicom.pixels.encoders.native import _encode_segment
    rows, columns = image.shape[:2]
    samples = image.reshape(rows, columns, -1)
    width = image.dtype.itemsize
    little = samples.astype(samples.dtype.newbyteorder("<"))
    segments = []
    for sample in range(samples.shape[2]):
        plane_bytes = np.ascontiguousarray(little[:, :, sample]).view(np.uint8).reshape(rows, columns, width)
        for byte in reversed(range(width)):
            segment = bytes(_encode_segment(np.ascontiguousarray(plane_bytes[:, :, byte]).tobytes(), columns))
            segments.append(segment + (b"\0" if len(segment) % 2 else b""))
    assert len(segments) <= 15
    offsets, at = [], 64
    for segment in segments:
        offsets.append(at)
        at += len(segment)
    header = np.zeros(16, dtype="<u4")
    header[0] = len(segments)
    header[1:1 + len(offsets)] = offsets
    return header.tobytes() + b"".join(segments)
