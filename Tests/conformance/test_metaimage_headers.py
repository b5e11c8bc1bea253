"""medvol writes MetaImage headers byte for byte as ITK's MetaImageIO does (SimpleITK writes the
reference): oblique and tied directions, 4D, RGB, every voxel type, compressed .zraw and single-file .mha."""
from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk


def rotation(seed: int):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    matrix = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                       [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                       [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    if seed % 3 == 0:
        matrix[:, 2] *= -1          # left-handed
    return matrix


SPECIAL_DIRECTIONS = {
    "identity": np.eye(3),
    "tie": np.array([[math.sqrt(0.5), math.sqrt(0.5), 0], [-math.sqrt(0.5), math.sqrt(0.5), 0], [0, 0, 1]]),
    "sagittal": np.array([[0, 0, -1], [1, 0, 0], [0, -1, 0]]),
    "flipped": np.diag([-1.0, 1.0, -1.0]),
}


def header_lines(path):
    lines = path.read_text().splitlines()
    return [line for line in lines if not line.startswith(("ElementDataFile", "CompressedDataSize"))]


def check(medvol, tmp_path, image, suffix=".mhd", *flags):
    reference = tmp_path / f"ref{suffix}"
    sitk.WriteImage(image, str(reference), useCompression="--compress" in flags)
    ours = tmp_path / f"ours{suffix}"
    medvol("convert", reference, ours, *flags)
    assert header_lines(ours) == header_lines(reference)
    assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(ours))), sitk.GetArrayFromImage(image))


@pytest.mark.parametrize("seed", range(12))
def test_random_oblique_geometry(medvol, tmp_path, seed):
    rng = np.random.default_rng(100 + seed)
    image = sitk.GetImageFromArray(rng.integers(-1000, 3000, (3, 4, 5)).astype(np.int16))
    image.SetDirection(rotation(seed).ravel().tolist())
    image.SetSpacing(rng.uniform(0.1, 5, 3).tolist())
    image.SetOrigin(rng.uniform(-500, 500, 3).tolist())
    check(medvol, tmp_path, image)


@pytest.mark.parametrize("name", sorted(SPECIAL_DIRECTIONS))
def test_special_directions(medvol, tmp_path, name):
    image = sitk.GetImageFromArray(np.arange(60, dtype=np.int16).reshape(3, 4, 5))
    image.SetDirection(SPECIAL_DIRECTIONS[name].ravel().tolist())
    image.SetOrigin((1e-7, -0.0, 123456.789))
    image.SetSpacing((1 / 3, 0.7, 2.5))
    check(medvol, tmp_path, image)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float32", "float64"])
def test_voxel_types(medvol, tmp_path, dtype):
    check(medvol, tmp_path, sitk.GetImageFromArray(np.arange(24).reshape(2, 3, 4).astype(dtype)))


def test_four_dimensional(medvol, tmp_path):
    image = sitk.GetImageFromArray(np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5), isVector=False)
    image.SetSpacing((0.5, 0.6, 0.7, 2.0))
    image.SetOrigin((1.0, 2.0, 3.0, 0.0))
    check(medvol, tmp_path, image)


def test_rgb(medvol, tmp_path):
    check(medvol, tmp_path, sitk.GetImageFromArray(np.arange(180, dtype=np.uint8).reshape(3, 4, 5, 3), isVector=True))


def test_compressed_and_single_file(medvol, tmp_path):
    image = sitk.GetImageFromArray(np.arange(60, dtype=np.int16).reshape(3, 4, 5))
    check(medvol, tmp_path, image, ".mhd", "--compress")
    assert (tmp_path / "ours.zraw").exists()
    check(medvol, tmp_path, image, ".mha")
