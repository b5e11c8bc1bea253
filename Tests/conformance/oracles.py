"""Independent readers: what SimpleITK, nibabel and NumPy say a file holds, for comparison with medvol."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

COORDINATE_TOLERANCE = 1e-4   # mm
DIRECTION_TOLERANCE = 1e-6


def rotation(axis, angle) -> np.ndarray:
    """The 3×3 matrix of a rotation by `angle` (radians) about `axis` (Rodrigues' formula)."""
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    c, s, t = np.cos(angle), np.sin(angle), 1 - np.cos(angle)
    x, y, z = a
    return np.array([[t * x * x + c, t * x * y - s * z, t * x * z + s * y],
                     [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
                     [t * x * z - s * y, t * y * z + s * x, t * z * z + c]])


def sitk_series(files) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(f) for f in files])
    return reader.Execute()


def sitk_series_in_folder(folder, series_uid: str | None = None) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    files = reader.GetGDCMSeriesFileNames(str(folder), series_uid) if series_uid else reader.GetGDCMSeriesFileNames(str(folder))
    return sitk_series(files)


def sitk_image(array: np.ndarray, spacing, origin, direction, time_spacing=None, vector: bool = False) -> sitk.Image:
    """A SimpleITK image from an array in SimpleITK's order and LPS geometry; with `time_spacing`, the array's
    first axis is t and the image is 4D with an identity fourth axis, as ITK writes one."""
    if time_spacing is None:
        image = sitk.GetImageFromArray(array, isVector=vector)
        image.SetSpacing(list(spacing))
        image.SetOrigin(list(origin))
        image.SetDirection(np.asarray(direction, float).ravel().tolist())
        return image
    image = sitk.JoinSeries([sitk.GetImageFromArray(volume, isVector=vector) for volume in array], 0.0, time_spacing)
    direction4 = np.eye(4)
    direction4[:3, :3] = np.asarray(direction, float)
    image.SetSpacing(list(spacing) + [time_spacing])
    image.SetOrigin(list(origin) + [0.0])
    image.SetDirection(direction4.ravel().tolist())
    return image


def geometry_of(image: sitk.Image) -> dict:
    return {
        "size": list(image.GetSize()),
        "spacing": list(image.GetSpacing()),
        "origin": list(image.GetOrigin()),
        "direction": list(image.GetDirection()),
    }


def assert_same_geometry(actual: dict, expected: dict, what: str = ""):
    """Size equal; spacing and origin within 1e-4 mm; direction within 1e-6 (SPEC tolerances)."""
    assert list(actual["size"])[:3] == list(expected["size"])[:3], f"{what} size {actual['size']} != {expected['size']}"
    for key, tolerance in (("spacing", COORDINATE_TOLERANCE), ("origin", COORDINATE_TOLERANCE), ("direction", DIRECTION_TOLERANCE)):
        a = np.asarray(actual[key], dtype=float)[: len(expected[key])]
        e = np.asarray(expected[key], dtype=float)
        assert np.abs(a - e).max() <= tolerance, f"{what} {key}: {a.tolist()} != {e.tolist()}"


def assert_same_image(actual: sitk.Image, expected: sitk.Image, what: str = ""):
    assert_same_geometry(geometry_of(actual), geometry_of(expected), what)
    a, e = sitk.GetArrayFromImage(actual), sitk.GetArrayFromImage(expected)
    assert a.shape == e.shape, f"{what} shape {a.shape} != {e.shape}"
    assert np.array_equal(a, e), f"{what} voxels differ (max |diff| {np.abs(a.astype(float) - e.astype(float)).max()})"


def load_npy_with_sidecar(path: Path):
    array = np.load(path)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    return array, sidecar
