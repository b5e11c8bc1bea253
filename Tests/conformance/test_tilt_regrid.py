"""Gantry tilt correction (`--tilt correct`) and equidistant slices (`--regrid`) on series written here.

The tilted series samples a phantom defined in patient coordinates, so every output voxel can be checked
against the phantom at the world position SimpleITK gives for it: the corrected volume holds the tissue
that is at its voxels' positions, and equals the same phantom acquired untilted (within the error of
linear interpolation).
"""
from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from dicom_fixtures import SeriesSpec, oblique_axes, write_series
from oracles import load_npy_with_sidecar

# MARK: Phantom

SPACING = (0.8, 0.6)            # x (between columns), y (between rows), mm
NX, NY, NZ = 24, 20, 10
TILT = 15.0                     # degrees
STEP = 2.5                      # table movement between slices, mm (along z)
ORIGIN = (-5.0, -3.0, 10.0)
SIGMA = 2.5
# The blob sits at the centre of the in-plane grid of the first slice, moved along the normal to slice 7.
ROW = np.array([1.0, 0.0, 0.0])
COLUMN = np.array([0.0, math.cos(math.radians(TILT)), -math.sin(math.radians(TILT))])
NORMAL = np.cross(ROW, COLUMN)
ALONG = STEP * math.cos(math.radians(TILT))   # distance between slices along the normal
CENTRE = np.array(ORIGIN) + ROW * 11 * SPACING[0] + COLUMN * 5 * SPACING[1] + NORMAL * 7 * ALONG

# (stored dtype, slope, intercept, amplitude of the blob, weights of the linear part)
KINDS = {
    "int16": (np.int16, None, None, 900.0, (6.0, 4.0, 3.0), 400.0),
    "uint8": (np.uint8, None, None, 150.0, (1.0, 1.0, 1.0), 20.0),
    "float32": (np.int16, 0.5, 0.25, 400.0, (3.0, 2.0, 1.5), 100.0),
}


def phantom(points: np.ndarray, kind: str) -> np.ndarray:
    """The phantom's value (in output units) at LPS `points` (..., 3)."""
    _, _, _, amplitude, weights, base = KINDS[kind]
    linear = base + points @ np.array(weights)
    blob = amplitude * np.exp(-((points - CENTRE) ** 2).sum(axis=-1) / (2 * SIGMA ** 2))
    return linear + blob


def sample(origin_of_slice, kind: str) -> np.ndarray:
    """Stored values of one slice whose first pixel is at `origin_of_slice`."""
    dtype, slope, intercept, *_ = KINDS[kind]
    j, i = np.meshgrid(np.arange(NY), np.arange(NX), indexing="ij")
    points = (np.asarray(origin_of_slice)[None, None, :] + i[..., None] * SPACING[0] * ROW
              + j[..., None] * SPACING[1] * COLUMN)
    values = phantom(points, kind)
    if slope is not None:
        values = (values - intercept) / slope
    return np.rint(values).astype(dtype)


def write_phantom(folder, kind: str, tilted: bool):
    """The phantom acquired with the tilted gantry (positions straight along z) or untilted (along the normal)."""
    dtype, slope, intercept, *_ = KINDS[kind]
    if tilted:
        positions = [np.array(ORIGIN) + np.array([0.0, 0.0, STEP * k]) for k in range(NZ)]
    else:
        positions = [np.array(ORIGIN) + NORMAL * ALONG * k for k in range(NZ)]
    values = np.stack([sample(p, kind) for p in positions])
    spec = SeriesSpec(values=values, spacing=(SPACING[0], SPACING[1], ALONG), origin=ORIGIN,
                      row=tuple(ROW), column=tuple(COLUMN), positions=[tuple(p) for p in positions],
                      slope=slope, intercept=intercept, gantry_tilt=TILT if tilted else None,
                      modality="CT" if kind != "uint8" else "MR")
    write_series(folder, spec)
    return positions, values


def world_points(image: sitk.Image) -> np.ndarray:
    """LPS position of every voxel, shape (nz, ny, nx, 3), from SimpleITK's geometry of `image`."""
    nx, ny, nz = image.GetSize()
    origin = np.array(image.GetOrigin())
    direction = np.array(image.GetDirection()).reshape(3, 3)
    spacing = np.array(image.GetSpacing())
    k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    index = np.stack([i, j, k], axis=-1) * spacing
    return origin + index @ direction.T


def interpolation_bound(kind: str) -> float:
    """Largest error of linear interpolation between pixels one row apart, plus rounding of stored values."""
    _, slope, _, amplitude, *_ = KINDS[kind]
    quantum = slope or 1.0
    return amplitude * SPACING[1] ** 2 / (8 * SIGMA ** 2) + quantum + 1e-6


# MARK: Gantry tilt

@pytest.mark.parametrize("kind", sorted(KINDS))
def test_tilt_correction_restores_world_positions(medvol, tmp_path, kind):
    positions, stored = write_phantom(tmp_path / "tilted", kind, tilted=True)
    write_phantom(tmp_path / "straight", kind, tilted=False)
    kept, corrected, straight = tmp_path / "kept.mhd", tmp_path / "corrected.mhd", tmp_path / "straight.mhd"
    keep_run = medvol("convert", tmp_path / "tilted", kept)
    correct_run = medvol("convert", tmp_path / "tilted", corrected, "--tilt", "correct")
    medvol("convert", tmp_path / "straight", straight)
    assert "gantry tilt:" in keep_run.stderr and "gantry tilt corrected" not in keep_run.stderr
    assert "gantry tilt corrected: slices shifted in-plane by up to" in correct_run.stderr
    assert "gantry tilt:" not in correct_run.stderr

    kept_image, corrected_image, straight_image = (sitk.ReadImage(str(p)) for p in (kept, corrected, straight))
    # Same voxel type, same grid: the image plane's axes and the normal, origin at the first slice.
    assert corrected_image.GetPixelID() == kept_image.GetPixelID() == straight_image.GetPixelID()
    for image in (kept_image, corrected_image):
        assert image.GetSize() == straight_image.GetSize()
        assert np.allclose(image.GetSpacing(), straight_image.GetSpacing(), atol=1e-4)
        assert np.allclose(image.GetOrigin(), straight_image.GetOrigin(), atol=1e-4)
        assert np.allclose(image.GetDirection(), straight_image.GetDirection(), atol=1e-6)
    assert np.allclose(np.array(corrected_image.GetDirection()).reshape(3, 3)[:, 2], NORMAL, atol=1e-6)

    kept_array = sitk.GetArrayFromImage(kept_image).astype(float)
    corrected_array = sitk.GetArrayFromImage(corrected_image).astype(float)
    straight_array = sitk.GetArrayFromImage(straight_image).astype(float)
    _, slope, intercept, *_ = KINDS[kind]
    stored_values = stored.astype(float) * (slope or 1) + (intercept or 0)
    # Without the option: the stored slices exactly, as today.
    assert np.array_equal(kept_array, stored_values)

    # Where each output row comes from in the stored slice: slice k starts STEP·k·sin(tilt) mm further
    # along -COLUMN, i.e. output row j is stored row j + shift.
    shift = np.array([STEP * k * math.sin(math.radians(TILT)) / SPACING[1] for k in range(NZ)])
    rows = np.arange(NY)[None, :] + shift[:, None]
    inside = np.broadcast_to((rows <= NY - 1 + 1e-6)[:, :, None], corrected_array.shape)
    assert inside.sum() > corrected_array.size / 2 and (~inside).sum() > 0

    # Every voxel inside holds the tissue at its world position (SimpleITK's geometry of the output).
    bound = interpolation_bound(kind)
    truth = phantom(world_points(corrected_image), kind)
    error = np.abs(corrected_array - truth)[inside]
    assert error.max() <= bound, (error.max(), bound)
    # ... and the same as the phantom acquired untilted, within interpolation error.
    assert np.abs(corrected_array - straight_array)[inside].max() <= bound
    # Outside, the lowest value of the stored volume.
    assert np.all(corrected_array[~inside] == stored_values.min())
    # The uncorrected volume does not: its slices are displaced by the tilt.
    assert np.abs(kept_array - truth)[inside].max() > 10 * bound

    # The blob: its brightest voxel is at the blob's centre in the corrected volume, not in the kept one.
    def brightest(array, image):
        k, j, i = np.unravel_index(np.argmax(np.where(inside, array - linear_part(image, kind), -np.inf)), array.shape)
        return np.array(image.TransformIndexToPhysicalPoint((int(i), int(j), int(k))))
    assert np.linalg.norm(brightest(corrected_array, corrected_image) - CENTRE) < 0.5
    assert np.linalg.norm(brightest(kept_array, kept_image) - CENTRE) > 3


def linear_part(image: sitk.Image, kind: str) -> np.ndarray:
    _, _, _, _, weights, base = KINDS[kind]
    return base + world_points(image) @ np.array(weights)


def test_tilt_correction_in_nifti_matches_nibabel_and_sidecar(medvol, tmp_path):
    write_phantom(tmp_path / "tilted", "int16", tilted=True)
    nii, npy = tmp_path / "corrected.nii.gz", tmp_path / "corrected.npy"
    medvol("convert", tmp_path / "tilted", nii, "--tilt", "correct")
    medvol("convert", tmp_path / "tilted", npy, "--tilt", "correct")
    image = nib.load(str(nii))
    data = np.asarray(image.dataobj)                      # (nx, ny, nz)
    array, sidecar = load_npy_with_sidecar(npy)           # (nz, ny, nx)
    assert np.array_equal(data.transpose(2, 1, 0), array)
    assert sidecar["pixelType"] == "int16"
    assert any("gantry tilt corrected" in w for w in sidecar.get("warnings", []))
    assert not any(w.startswith("gantry tilt:") for w in sidecar.get("warnings", []))
    # nibabel's affine: RAS = diag(-1, -1, 1) · LPS.
    flip = np.diag([-1.0, -1.0, 1.0])
    affine = image.affine
    assert np.allclose(affine[:3, 0], flip @ ROW * SPACING[0], atol=1e-4)
    assert np.allclose(affine[:3, 1], flip @ COLUMN * SPACING[1], atol=1e-4)
    assert np.allclose(affine[:3, 2], flip @ NORMAL * ALONG, atol=1e-4)
    assert np.allclose(affine[:3, 3], flip @ np.array(ORIGIN), atol=1e-4)
    # Voxel (i, j, k) of the file at nibabel's world point holds the phantom there.
    i, j, k = 11, 5, 6
    ras = affine @ np.array([i, j, k, 1.0])
    lps = flip @ ras[:3]
    assert abs(float(data[i, j, k]) - phantom(lps, "int16")) <= interpolation_bound("int16")


def test_series_without_tilt_is_unchanged_by_the_option(medvol, tmp_path):
    write_phantom(tmp_path / "straight", "int16", tilted=False)
    plain, option = tmp_path / "plain.npy", tmp_path / "option.npy"
    medvol("convert", tmp_path / "straight", plain)
    run = medvol("convert", tmp_path / "straight", option, "--tilt", "correct", "--regrid")
    assert "corrected" not in run.stderr and "resampled" not in run.stderr
    a, sa = load_npy_with_sidecar(plain)
    b, sb = load_npy_with_sidecar(option)
    assert np.array_equal(a, b) and sa["origin"] == sb["origin"] and sa["spacing"] == sb["spacing"]


# MARK: Equidistant slices

def write_uneven(folder, distances, dtype=np.int16, seed_scale=100):
    row, column = oblique_axes()
    normal = np.cross(row, column)
    origin = np.array([12.5, -40.25, 88.0])
    nz, ny, nx = len(distances), 6, 7
    k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    # Values that change non-linearly from slice to slice, so interpolation between the right pair shows.
    values = ((np.array(distances) ** 2 * 3)[:, None, None] + j * 11 + i * 5 + (k % 2) * 40).astype(dtype)
    spec = SeriesSpec(values=values, spacing=(0.7, 0.9, 1.0), origin=tuple(origin), row=row, column=column,
                      positions=[tuple(origin + normal * d) for d in distances])
    write_series(folder, spec)
    return values, origin, np.column_stack([row, column, normal])


def expected_regrid(values, distances, spacing, count):
    """Linear interpolation between the two nearest stored slices, per pixel (independent of medvol)."""
    targets = np.arange(count) * spacing
    flat = values.reshape(len(distances), -1).astype(float)
    out = np.stack([np.interp(targets, distances, flat[:, p]) for p in range(flat.shape[1])], axis=1)
    return out.reshape((count,) + values.shape[1:])


@pytest.mark.parametrize("distances,count,spacing", [
    ([0.0, 2.0, 3.0, 5.0, 7.0, 9.0], 10, 1.0),           # uneven: the smallest gap is 1 mm
    ([0.0, 2.5, 5.0, 10.0, 12.5], 6, 2.5),               # a missing slice
    ([0.0, 1.5, 3.0, 4.2, 6.0], 6, 1.2),                 # smallest gap 1.2 mm, 6 mm: exactly 5 gaps
])
def test_regrid_makes_equidistant_slices(medvol, tmp_path, distances, count, spacing):
    values, origin, direction = write_uneven(tmp_path / "dicom", distances)
    nii, mhd = tmp_path / "eq.nii.gz", tmp_path / "eq.mhd"
    run = medvol("convert", tmp_path / "dicom", nii, "--regrid")
    medvol("convert", tmp_path / "dicom", mhd, "--regrid")
    assert f"slices resampled to equal spacing: {count} slices" in run.stderr
    assert "not resampled" not in run.stderr

    image = sitk.ReadImage(str(mhd))
    assert image.GetSize() == (7, 6, count)
    assert np.allclose(image.GetSpacing(), (0.7, 0.9, spacing), atol=1e-4)
    assert np.allclose(image.GetOrigin(), origin, atol=1e-4)
    assert np.allclose(np.array(image.GetDirection()).reshape(3, 3), direction, atol=1e-6)
    assert image.GetPixelID() == sitk.sitkInt16
    array = sitk.GetArrayFromImage(image).astype(float)
    exact = expected_regrid(values, distances, spacing, count)
    assert np.abs(array - exact).max() <= 0.5 + 1e-9
    # Slices at a stored position are that slice exactly.
    for z, d in enumerate(distances):
        m = d / spacing
        if abs(m - round(m)) < 1e-9:
            assert np.array_equal(array[round(m)], values[z])

    nifti = nib.load(str(nii))
    assert np.array_equal(np.asarray(nifti.dataobj).transpose(2, 1, 0), array.astype(np.int16))
    flip = np.diag([-1.0, -1.0, 1.0])
    assert np.allclose(nifti.affine[:3, 2], flip @ direction[:, 2] * spacing, atol=1e-4)
    assert np.allclose(nifti.affine[:3, 3], flip @ origin, atol=1e-4)
    # The last slice lies on the last stored one.
    last = nifti.affine @ np.array([0, 0, count - 1, 1.0])
    assert np.allclose(flip @ last[:3], origin + direction[:, 2] * distances[-1], atol=1e-3)


def test_regrid_report_in_sidecar_and_info(medvol, tmp_path):
    write_uneven(tmp_path / "dicom", [0.0, 2.0, 3.0, 5.0, 7.0, 9.0])
    npy = tmp_path / "eq.npy"
    medvol("convert", tmp_path / "dicom", npy, "--regrid")
    array, sidecar = load_npy_with_sidecar(npy)
    assert array.shape == (10, 6, 7)
    warnings = sidecar.get("warnings", [])
    assert any(w.startswith("slices resampled to equal spacing: 10 slices 1 mm apart from the 6 stored") for w in warnings)
    assert not any("not resampled" in w for w in warnings)
    assert any(w.startswith("uneven slice spacing") for w in warnings)
    # `info --regrid` describes, from the headers, the volume `convert --regrid` writes.
    info = medvol("info", tmp_path / "dicom", "--json", "--regrid").json()
    assert info["size"] == sidecar["size"] and np.allclose(info["spacing"], sidecar["spacing"], atol=1e-9)
    assert np.allclose(info["origin"], sidecar["origin"], atol=1e-9)
    assert info["warnings"] == sidecar["warnings"]
    plain = medvol("info", tmp_path / "dicom", "--json").json()
    assert plain["size"][2] == 6 and not any("resampled to equal" in w for w in plain["warnings"])


def test_regrid_refuses_a_tiny_gap_and_leaves_nothing(medvol, tmp_path):
    write_uneven(tmp_path / "dicom", [0.0, 0.1, 10.0, 20.0, 30.0])
    out = tmp_path / "eq.nii.gz"
    run = medvol("convert", tmp_path / "dicom", out, "--regrid", check=False)
    assert run.returncode != 0
    assert "equidistant" in run.stderr and ".dcm" in run.stderr
    assert not out.exists()
    assert list(tmp_path.glob("eq*")) == []


def test_bad_tilt_value_is_a_usage_error(medvol, tmp_path):
    write_uneven(tmp_path / "dicom", [0.0, 1.0, 2.0])
    run = medvol("convert", tmp_path / "dicom", tmp_path / "x.nii", "--tilt", "sideways", check=False)
    assert run.returncode == 2 and "--tilt" in run.stderr


# MARK: 4D

def test_4d_series_is_corrected_and_regridded_volume_by_volume(medvol, tmp_path):
    """Two volumes of a tilted, unevenly spaced series: each volume is resampled on its own."""
    from pydicom.uid import generate_uid
    distances = [0.0, 2.0, 3.0, 5.0, 7.0]                 # along z, the table axis
    common = dict(series_uid=generate_uid(), study_uid=generate_uid(), frame_of_reference_uid=generate_uid())
    nz = len(distances)
    volumes = []
    for t in range(2):
        positions = [np.array(ORIGIN) + np.array([0.0, 0.0, d]) for d in distances]
        values = np.stack([sample(p, "int16") for p in positions]) + np.int16(1000 * t)
        volumes.append(values)
        spec = SeriesSpec(values=values, spacing=(SPACING[0], SPACING[1], 1.0), origin=ORIGIN, row=tuple(ROW),
                          column=tuple(COLUMN), positions=[tuple(p) for p in positions], gantry_tilt=TILT,
                          instance_numbers=[t * nz + k + 1 for k in range(nz)],
                          file_names=[f"T{t}_{k:02d}.dcm" for k in range(nz)], **common)
        write_series(tmp_path / "dicom", spec)
    npy = tmp_path / "out.npy"
    run = medvol("convert", tmp_path / "dicom", npy, "--tilt", "correct", "--regrid")
    array, sidecar = load_npy_with_sidecar(npy)
    along = np.array(distances) * math.cos(math.radians(TILT))
    smallest = np.diff(along).min()
    count = int(math.ceil(along[-1] / smallest - 1e-3)) + 1
    spacing = along[-1] / (count - 1)
    assert array.shape == (2, count, NY, NX), array.shape
    assert np.allclose(sidecar["spacing"][:3], [SPACING[0], SPACING[1], spacing], atol=1e-4)
    assert "gantry tilt corrected" in run.stderr and f"{count} slices" in run.stderr
    # Output voxel (t, k, j, i) lies at ORIGIN + ROW·i·sx + COLUMN·j·sy + NORMAL·k·spacing: the phantom
    # there (plus 1000·t) wherever every stored pixel it is interpolated from is inside its slice.
    origin = np.array(sidecar["origin"])
    assert np.allclose(origin, ORIGIN, atol=1e-4)
    k, j, i = np.meshgrid(np.arange(count), np.arange(NY), np.arange(NX), indexing="ij")
    points = origin + (i[..., None] * SPACING[0] * ROW + j[..., None] * SPACING[1] * COLUMN
                       + k[..., None] * spacing * NORMAL)
    # Stored slice at distance d is shifted by d·tan(tilt)/sy rows; the two nearest ones must both be inside.
    shift_rows = (np.array(distances) * math.sin(math.radians(TILT))) / SPACING[1]
    hi = np.searchsorted(along, np.arange(count) * spacing - 1e-6).clip(0, nz - 1)
    worst = shift_rows[hi]
    inside = (np.arange(NY)[None, :, None] + worst[:, None, None] <= NY - 1) & np.ones((count, NY, NX), bool)
    # Between slices the phantom is interpolated linearly along the normal too: the blob's curvature
    # along the normal bounds that error (gaps up to 2 mm).
    bound = interpolation_bound("int16") + KINDS["int16"][3] * 2.0 ** 2 / (8 * SIGMA ** 2)
    for t in range(2):
        truth = phantom(points, "int16") + 1000 * t
        assert np.abs(array[t].astype(float) - truth)[inside].max() <= bound


# MARK: RGB

def test_rgb_series_is_corrected_per_component(medvol, tmp_path):
    """An RGB series (8-bit, interleaved) tilted by exactly one row per slice: each component moves."""
    import pydicom
    nz, ny, nx = 4, 5, 3
    step = 2.0
    positions = [(0.0, 0.6 * k, step * k) for k in range(nz)]    # one row (0.6 mm) per slice along +y
    spec = SeriesSpec(values=np.zeros((nz, ny, nx), np.uint8), spacing=(0.8, 0.6, step), origin=(0.0, 0.0, 0.0),
                      positions=positions, modality="MR")
    files = write_series(tmp_path / "dicom", spec)
    k, j, i, c = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), np.arange(3), indexing="ij")
    rgb = (10 + 40 * k + 7 * j + 2 * i + 60 * c).astype(np.uint8)
    for z, path in enumerate(files):
        ds = pydicom.dcmread(path)
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit = 7
        ds.PixelRepresentation = 0
        ds.PixelData = np.ascontiguousarray(rgb[z]).tobytes()
        ds.save_as(path, enforce_file_format=True)
    npy = tmp_path / "rgb.npy"
    run = medvol("convert", tmp_path / "dicom", npy, "--tilt", "correct")
    assert "gantry tilt corrected" in run.stderr
    array, sidecar = load_npy_with_sidecar(npy)
    assert array.shape == (nz, ny, nx, 3) and array.dtype == np.uint8
    for z in range(nz):
        # Output row j of slice z is stored row j − z (the slice starts z rows further along +y).
        assert np.array_equal(array[z, z:], rgb[z, :ny - z]), z
        assert np.all(array[z, :z] == rgb.min())
