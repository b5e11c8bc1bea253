"""Inputs for the `medvol export` / `medvol preview` tests: single DICOM images written with pydicom (any
photometric interpretation, windows, VOI LUT), volumes written with SimpleITK in any orientation, and helpers
that read PNG files independently (Pillow, plus a chunk-level check with zlib)."""
from __future__ import annotations

import math
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
SC_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"


def write_image(path: Path, pixels: np.ndarray, photometric: str = "MONOCHROME2", **attributes) -> Path:
    """One single-frame image: `pixels` is (rows, columns) or (rows, columns, 3) of the stored values."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE if pixels.ndim == 2 else SC_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT" if pixels.ndim == 2 else "OT"
    ds.PatientID = "VIEW01"
    ds.StudyDate = "20240301"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 3
    ds.InstanceNumber = 1
    ds.ImagePositionPatient = [0, 0, 0]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [1, 1]
    ds.SliceThickness = 1
    ds.Rows, ds.Columns = pixels.shape[:2]
    ds.SamplesPerPixel = 3 if pixels.ndim == 3 else 1
    if pixels.ndim == 3:
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = pixels.dtype.itemsize * 8
    ds.BitsStored = ds.BitsAllocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    for key, value in attributes.items():
        setattr(ds, key, value)
    ds.PixelData = np.ascontiguousarray(pixels).astype(pixels.dtype.newbyteorder("<")).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _exact(function, x, center, width):
    """Applies `function` to every value in exact rational arithmetic, halves rounding up."""
    c, w = Fraction(str(center)), Fraction(str(width))
    flat = [function(Fraction(int(v)) if float(v).is_integer() else Fraction(str(float(v))), c, w)
            for v in np.asarray(x).ravel()]
    return np.array([math.floor(y * 255 + Fraction(1, 2)) for y in flat], dtype=np.uint8).reshape(np.shape(x))


def linear_window(x, center, width):
    """PS3.3 C.11.2.1.2.1, output 0…255 rounded to the nearest level (an implementation independent of medvol's)."""
    def linear(v, c, w):
        if v <= c - Fraction(1, 2) - (w - 1) / 2:
            return Fraction(0)
        if v > c - Fraction(1, 2) + (w - 1) / 2:
            return Fraction(1)
        return (v - (c - Fraction(1, 2))) / (w - 1) + Fraction(1, 2)
    return _exact(linear, x, center, width)


def linear_exact_window(x, center, width):
    """PS3.3 C.11.2.1.3.2."""
    def linear_exact(v, c, w):
        if v <= c - w / 2:
            return Fraction(0)
        if v > c + w / 2:
            return Fraction(1)
        return (v - c) / w + Fraction(1, 2)
    return _exact(linear_exact, x, center, width)


def sigmoid_window(x, center, width):
    """PS3.3 C.11.2.1.3.1."""
    y = 255 / (1 + np.exp(-4 * (np.asarray(x, dtype=float) - center) / width))
    return np.floor(y + 0.5).astype(np.uint8)


def png_chunks(path: Path) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG file, each CRC checked."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        body = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert crc == zlib.crc32(kind + body), f"CRC of {kind!r}"
        chunks.append((kind, body))
        offset += 12 + length
    assert offset == len(data)
    return chunks


def world_to_stored(world: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Stores `world` — indexed [x, y, z], x from the patient's right to left, y anterior to posterior,
    z inferior to superior, 1 mm voxels — in a volume whose index axes point along the columns of
    `direction` (signed unit LPS axes). Returns the NumPy array (k, j, i) and the origin."""
    n = np.array(world.shape)
    size = np.abs(direction.T) @ n          # nx, ny, nz of the stored grid
    size = size.astype(int)
    corners = np.array([[i, j, k] for i in (0, size[0] - 1) for j in (0, size[1] - 1) for k in (0, size[2] - 1)])
    physical = corners @ direction.T
    origin = -physical.min(axis=0)
    k, j, i = np.meshgrid(np.arange(size[2]), np.arange(size[1]), np.arange(size[0]), indexing="ij")
    index = np.stack([i, j, k], axis=-1)
    point = (index @ direction.T + origin).round().astype(int)
    stored = world[point[..., 0], point[..., 1], point[..., 2]]
    return stored, list(origin.astype(float))
