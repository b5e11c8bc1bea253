"""The round-trip conformance matrix: every ordered pair of formats (A, B) among a DICOM series, .mhd, .mha,
.nii, .nii.gz, .nrrd, .npy and .npz, for 3D and 4D volumes of int16, uint8, uint16 and float32 with oblique
geometry (a rotation about an oblique axis, a non-zero origin that float32 cannot hold exactly, anisotropic
spacing), plus a left-handed 3D volume:

    reference (.mha written by SimpleITK) --medvol--> A --medvol--> B --medvol--> A'

A, B and A' are each read by an independent reader — SimpleITK (.mhd/.mha/.nrrd, 3D DICOM), nibabel
(NIfTI, compared in RAS: affine = diag(-1,-1,1,1)·LPS affine), pydicom (DICOM: pixel_array × slope +
intercept per file, IPP/IOP per slice), NumPy (.npy with its .json, .npz) — and must hold the reference's
voxels and geometry within the SPEC's tolerances (1e-4 mm, 1e-6 in direction).

The known, documented exceptions are encoded here, each where it applies and nowhere else:
- NIFTI_PRECISION: NIfTI stores geometry as float32; a file that went through NIfTI keeps the geometry to
  float32 precision (measured: see `test_nifti_precision_is_measured`), which stays inside the SPEC
  tolerance for these volumes — the test asserts that, it does not loosen it.
- DICOM_FLOAT_LOSSY: a float32 volume that no slope/intercept stores exactly is stored as 16-bit integers;
  medvol must say so (`medvol: warning: … largest absolute error is E`) and the values then differ by at
  most E — only in chains that contain DICOM, only for float32.
- DICOM_LEFT_HANDED: a DICOM series stacks slices along row × column, so a left-handed direction comes back
  with k reversed (origin at the former last slice, third direction column negated): the same voxel values
  at the same physical points. medvol must warn that the slices were reversed.
(RGB volumes, which DICOM writes as Secondary Capture, are covered by test_formats_convert.py, not here.)
"""
from __future__ import annotations

import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from conftest import run_medvol
from oracles import load_npy_with_sidecar, rotation, sitk_image, sitk_series_in_folder

FORMATS = ["dicom", "mhd", "mha", "nii", "nii.gz", "nrrd", "npy", "npz"]
COORDINATE, DIRECTION = 1e-4, 1e-6
RAS_FROM_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


class Variant:
    def __init__(self, ndim, dtype, left_handed=False):
        self.ndim, self.dtype, self.left_handed = ndim, np.dtype(dtype), left_handed
        self.name = f"{ndim}D-{self.dtype.name}" + ("-lefthanded" if left_handed else "")
        shape = (3, 5, 6, 7) if ndim == 4 else (5, 6, 7)            # (nt,) nz, ny, nx
        index = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
        if self.dtype.kind == "f":
            # Values no slope/intercept stores exactly: the DICOM writer must go lossy and say so.
            values = np.sin(index * 0.731) * 1234.5 + index * 0.013
        elif self.dtype == np.uint8:
            values = (index * 37) % 251
        elif self.dtype == np.uint16:
            values = (index * 977) % 65000 + 17
        else:
            values = (index * 397) % 6000 - 3000
        self.array = values.astype(self.dtype)
        self.spacing = [0.7, 0.9, 2.3]
        self.origin = [-31.37, 18.219, 77.03]
        direction = rotation([1.0, 2.0, 3.0], 0.6)
        if left_handed:
            direction = direction @ np.diag([1.0, 1.0, -1.0])
        self.direction = direction
        self.time_spacing = 2.5 if ndim == 4 else None

    def image(self):
        return sitk_image(self.array, self.spacing, self.origin, self.direction, self.time_spacing)

    def expected(self, through_dicom: bool):
        """(array, origin, direction) that a file should hold after a chain (k reversed after DICOM for a
        left-handed direction)."""
        if not (through_dicom and self.left_handed):
            return self.array, np.array(self.origin), self.direction
        nz = self.array.shape[-3]
        origin = np.array(self.origin) + self.direction[:, 2] * self.spacing[2] * (nz - 1)
        return np.flip(self.array, axis=-3), origin, self.direction @ np.diag([1.0, 1.0, -1.0])


VARIANTS = [Variant(n, t) for n in (3, 4) for t in ("int16", "uint8", "uint16", "float32")] + [Variant(3, "int16", left_handed=True)]


# MARK: Independent readers


class Read:
    """What an independent reader found: array in NumPy order ((nt,) nz, ny, nx), geometry, reader name."""

    def __init__(self, reader, array, spacing, origin, direction, time_spacing=None):
        self.reader, self.array = reader, array
        self.spacing, self.origin = np.asarray(spacing, float), np.asarray(origin, float)
        self.direction, self.time_spacing = np.asarray(direction, float).reshape(3, 3), time_spacing


def read_sitk(path) -> Read:
    image = sitk.ReadImage(str(path))
    n = image.GetDimension()
    direction = np.array(image.GetDirection()).reshape(n, n)[:3, :3]
    return Read("SimpleITK", sitk.GetArrayFromImage(image), image.GetSpacing()[:3], image.GetOrigin()[:3], direction,
                image.GetSpacing()[3] if n == 4 else None)


def read_nibabel(path) -> Read:
    image = nib.load(str(path))
    data = np.asanyarray(image.dataobj)
    array = np.ascontiguousarray(data.transpose(tuple(reversed(range(data.ndim)))))
    lps = RAS_FROM_LPS @ image.affine              # diag(-1,-1,1,1) is its own inverse
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    zooms = image.header.get_zooms()
    return Read("nibabel", array, spacing, lps[:3, 3], lps[:3, :3] / spacing, float(zooms[3]) if data.ndim == 4 else None)


def read_numpy(path: Path, fmt) -> Read:
    if fmt == "npy":
        array, sidecar = load_npy_with_sidecar(path)
        return Read("NumPy", array, sidecar["spacing"], sidecar["origin"], sidecar["direction"], sidecar.get("timeSpacing"))
    with np.load(path) as archive:
        time_spacing = float(archive["timeSpacing"]) if "timeSpacing" in archive else None
        return Read("NumPy", archive["image"], archive["spacing"], archive["origin"], archive["direction"], time_spacing)


def read_pydicom(folder: Path) -> Read:
    """Slices stacked by position along the normal, images at one position by Temporal Position Identifier;
    values = pixel_array × slope + intercept of each file."""
    files = [pydicom.dcmread(p) for p in sorted(folder.iterdir())]
    orientation = np.array(files[0].ImageOrientationPatient, float)
    row, column = orientation[:3], orientation[3:]
    normal = np.cross(row, column)
    by_position = {}
    for ds in files:
        assert np.allclose(np.array(ds.ImageOrientationPatient, float), orientation)
        distance = round(float(np.dot(np.array(ds.ImagePositionPatient, float), normal)), 4)
        by_position.setdefault(distance, []).append(ds)
    distances = sorted(by_position)
    steps = np.diff(distances)
    assert len(steps) == 0 or np.allclose(steps, steps[0], atol=1e-4), f"uneven slice positions {distances}"
    volumes = []
    for distance in distances:
        images = sorted(by_position[distance], key=lambda ds: int(getattr(ds, "TemporalPositionIdentifier", 0) or ds.InstanceNumber))
        volumes.append([ds.pixel_array.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1))
                        + float(getattr(ds, "RescaleIntercept", 0)) for ds in images])
    array = np.array(volumes)                      # (nz, nt, ny, nx)
    array = np.moveaxis(array, 1, 0)               # (nt, nz, ny, nx)
    if array.shape[0] == 1:
        array = array[0]
    first = by_position[distances[0]][0]
    spacing = [float(first.PixelSpacing[1]), float(first.PixelSpacing[0]), float(steps[0]) if len(steps) else float(first.SliceThickness)]
    time_spacing = float(first.RepetitionTime) / 1000 if array.ndim == 4 and "RepetitionTime" in first else None
    return Read("pydicom", array, spacing, np.array(first.ImagePositionPatient, float), np.column_stack([row, column, normal]), time_spacing)


def read_independently(fmt, path: Path) -> list[Read]:
    if fmt == "dicom":
        reads = [read_pydicom(path)]
        if reads[0].array.ndim == 3:           # SimpleITK reads a DICOM series as one 3D image only
            image = sitk_series_in_folder(path)
            reads.append(Read("SimpleITK (DICOM)", sitk.GetArrayFromImage(image), image.GetSpacing(), image.GetOrigin(),
                              np.array(image.GetDirection()).reshape(3, 3)))
        return reads
    if fmt in ("nii", "nii.gz"):
        return [read_nibabel(path)]
    if fmt in ("npy", "npz"):
        return [read_numpy(path, fmt)]
    return [read_sitk(path)]


# MARK: medvol


def output_path(folder: Path, stem: str, fmt: str) -> Path:
    return folder / stem if fmt == "dicom" else folder / f"{stem}.{fmt}"


def convert(source: Path, fmt: str, target: Path) -> str:
    args = ["convert", source, target] + (["--format", "dicom"] if fmt == "dicom" else [])
    return run_medvol(*args).stderr


LOSS = re.compile(r"largest absolute error is ([0-9.eE+-]+)")


class Chain:
    """What a file is expected to hold after the chain of conversions that made it."""

    def __init__(self, variant):
        self.variant, self.through_dicom, self.loss = variant, False, 0.0

    def step(self, fmt, stderr):
        if fmt == "dicom":
            # A left-handed volume is reversed by its first DICOM write only; it is right-handed after.
            expect_reversal = self.variant.left_handed and not self.through_dicom
            self.through_dicom = True
            found = LOSS.search(stderr)
            if self.variant.dtype.kind == "f":
                # DICOM_FLOAT_LOSSY: reported, bounded.
                assert found, f"float32 written as DICOM without a precision report: {stderr}"
                self.loss = max(self.loss, float(found.group(1)))
            else:
                assert not found, f"an integer volume lost precision: {stderr}"
            # DICOM_LEFT_HANDED: reported.
            assert ("revers" in stderr) == expect_reversal, stderr
        return self


def check(read: Read, chain: Chain, what: str):
    variant = chain.variant
    array, origin, direction = variant.expected(chain.through_dicom)
    assert read.array.shape == array.shape, f"{what} ({read.reader}): shape {read.array.shape} != {array.shape}"
    if read.reader not in ("pydicom", "SimpleITK (DICOM)"):   # DICOM readers choose their own voxel type
        assert read.array.dtype == variant.dtype, f"{what} ({read.reader}): dtype {read.array.dtype}"
    difference = np.abs(read.array.astype(np.float64) - array.astype(np.float64)).max()
    if chain.loss and variant.dtype.kind == "f":
        # DICOM_FLOAT_LOSSY: within the reported error (and the float32 rounding of the values read).
        limit = chain.loss * 1.0001 + 1e-6 * np.abs(array).max()
        assert difference <= limit, f"{what} ({read.reader}): values differ by {difference} > reported {chain.loss}"
    else:
        assert difference == 0, f"{what} ({read.reader}): values differ by up to {difference}"
    np.testing.assert_allclose(read.spacing, variant.spacing, atol=COORDINATE, rtol=0, err_msg=f"{what} ({read.reader}) spacing")
    np.testing.assert_allclose(read.origin, origin, atol=COORDINATE, rtol=0, err_msg=f"{what} ({read.reader}) origin")
    np.testing.assert_allclose(read.direction, direction, atol=DIRECTION, rtol=0, err_msg=f"{what} ({read.reader}) direction")
    if variant.time_spacing is not None:
        assert read.time_spacing == pytest.approx(variant.time_spacing, abs=1e-6), f"{what} ({read.reader}) time spacing"


# MARK: The matrix


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Per variant: the reference .mha (SimpleITK) and the first file A of each format, written by medvol
    from it and checked once by its independent reader."""
    root = tmp_path_factory.mktemp("matrix")
    made = {}
    for variant in VARIANTS:
        folder = root / variant.name
        folder.mkdir()
        reference = folder / "reference.mha"
        sitk.WriteImage(variant.image(), str(reference))
        for fmt in FORMATS:
            target = output_path(folder, "A", fmt)
            chain = Chain(variant).step(fmt, convert(reference, fmt, target))
            made[variant.name, fmt] = (target, chain)
    return made


PAIRS = [(a, b) for a in FORMATS for b in FORMATS if a != b]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
@pytest.mark.parametrize("fmt", FORMATS)
def test_each_first_file_reads_independently(sources, variant, fmt):
    path, chain = sources[variant.name, fmt]
    for read in read_independently(fmt, path):
        check(read, chain, f"{fmt} from the reference")


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_round_trip(sources, tmp_path, variant, a, b):
    source, first = sources[variant.name, a]
    chain = Chain(variant)
    chain.through_dicom, chain.loss = first.through_dicom, first.loss
    middle = output_path(tmp_path, "B", b)
    chain.step(b, convert(source, b, middle))
    for read in read_independently(b, middle):
        check(read, chain, f"{a}->{b}")
    back = output_path(tmp_path, "A_back", a)
    chain.step(a, convert(middle, a, back))
    for read in read_independently(a, back):
        check(read, chain, f"{a}->{b}->{a}")
    info = run_medvol("info", back, "--json").json()
    expected_array, origin, direction = variant.expected(chain.through_dicom)
    assert info["size"] == list(reversed(expected_array.shape))
    assert info["pixelType"] == variant.dtype.name
    np.testing.assert_allclose(info["origin"], origin, atol=COORDINATE, rtol=0)
    np.testing.assert_allclose(np.reshape(info["direction"], (3, 3)), direction, atol=DIRECTION, rtol=0)


def test_nifti_precision_is_measured(sources, capsys):
    """NIFTI_PRECISION: how far the float32 NIfTI header moves the oblique geometry (reported in the run's
    output), and that it stays within the SPEC tolerances."""
    worst = {"spacing": 0.0, "origin": 0.0, "direction": 0.0}
    for variant in VARIANTS:
        for fmt in ("nii", "nii.gz"):
            path, chain = sources[variant.name, fmt]
            read = read_nibabel(path)
            _, origin, direction = variant.expected(False)
            worst["spacing"] = max(worst["spacing"], np.abs(read.spacing - variant.spacing).max())
            worst["origin"] = max(worst["origin"], np.abs(read.origin - origin).max())
            worst["direction"] = max(worst["direction"], np.abs(read.direction - direction).max())
    with capsys.disabled():
        print(f"\nNIfTI geometry error (float32 header), worst over the matrix: spacing {worst['spacing']:.3g} mm, "
              f"origin {worst['origin']:.3g} mm, direction {worst['direction']:.3g}")
    assert worst["origin"] > 0, "the origin was chosen so that float32 cannot hold it exactly"
    assert worst["spacing"] <= COORDINATE and worst["origin"] <= COORDINATE and worst["direction"] <= DIRECTION
