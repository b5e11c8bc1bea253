"""medvol against dcm2niix's reference outputs in ../shared/data (`Ref/*.nii`, RAS on disk): every series
with a reference gives the same voxels and the same physical geometry — Siemens mosaics (4D) in axial,
coronal and sagittal planes with ascending, descending and interleaved slice orders, lossless JPEG and
JPEG 2000 mosaics, and GE diffusion series (4D).

The comparison is physical, in one convention: each medvol voxel centre (LPS) is mapped through
diag(-1, -1, 1) to RAS and through the reference's affine to a reference voxel index; that index must be a
whole number (geometry agrees) and the voxel values must be equal there (same array, whatever the axis order
or flips dcm2niix chose)."""
from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from conftest import SHARED_DATA
from pixel_fixtures import medvol_volume

INDEX_TOLERANCE = 1e-3   # voxels: far below half a voxel, far above float32 header rounding


def reference_cases():
    """(input folder, reference .nii) for every reference whose series is in the data's In/ tree."""
    if not SHARED_DATA.exists():
        return []
    cases = []
    for root in sorted(p for p in SHARED_DATA.iterdir() if (p / "Ref").is_dir() and (p / "In").is_dir()):
        references = {}
        for sidecar in sorted((root / "Ref").glob("*.json")):
            nifti = sidecar.with_suffix(".nii")
            if nifti.exists():
                references[int(json.loads(sidecar.read_text())["SeriesNumber"])] = nifti
        folders = sorted({p.parent for p in (root / "In").rglob("*") if p.is_file()})
        for folder in folders:
            number = None
            for candidate in sorted(folder.iterdir()):
                try:
                    number = int(pydicom.dcmread(candidate, stop_before_pixels=True).SeriesNumber)
                    break
                except Exception:
                    continue
            if number in references:
                cases.append(pytest.param(folder, references[number], id=str(folder.relative_to(SHARED_DATA))))
    return cases


CASES = reference_cases()


def test_every_reference_is_checked():
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not present at {SHARED_DATA}")
    # 21 Siemens series (19 orientation mosaics, 2 multiband JPEG/JPEG 2000) and 3 GE diffusion series have references.
    assert len(CASES) == 24, [c.id for c in CASES]


@pytest.mark.parametrize("folder, reference", CASES)
def test_same_voxels_and_geometry_as_dcm2niix(medvol, tmp_path, folder: Path, reference: Path):
    array, geometry = medvol_volume(medvol, folder, tmp_path)     # array: (t,) z, y, x
    image = nib.load(str(reference))
    expected = np.asarray(image.dataobj)                          # x, y, z (, t)

    spatial = geometry["size"][:3]
    volumes = array.reshape((-1,) + array.shape[-3:])             # (t, z, y, x)
    references = expected.reshape(expected.shape[:3] + (-1,))     # (x, y, z, t)
    assert volumes.shape[0] == references.shape[3], f"{volumes.shape[0]} volumes, dcm2niix has {references.shape[3]}"
    assert volumes[0].size == references[..., 0].size

    direction = np.array(geometry["direction"]).reshape(3, 3)
    lps_from_index = np.eye(4)
    lps_from_index[:3, :3] = direction @ np.diag(geometry["spacing"])
    lps_from_index[:3, 3] = geometry["origin"]
    ras_from_lps = np.diag([-1.0, -1.0, 1.0, 1.0])
    reference_from_index = np.linalg.inv(image.affine) @ ras_from_lps @ lps_from_index

    nx, ny, nz = spatial
    i, j, k = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")
    index = np.stack([i.ravel(), j.ravel(), k.ravel(), np.ones(i.size)])
    mapped = (reference_from_index @ index)[:3]
    rounded = np.rint(mapped).astype(int)
    assert np.abs(mapped - rounded).max() < INDEX_TOLERANCE, "geometry differs from dcm2niix's"
    assert all((rounded[a] >= 0).all() and (rounded[a] < references.shape[a]).all() for a in range(3)), \
        "medvol's voxels do not cover the same grid as dcm2niix's"
    for t in range(volumes.shape[0]):
        ours = volumes[t].transpose(2, 1, 0).ravel()                # x, y, z order, like `index`
        theirs = references[rounded[0], rounded[1], rounded[2], t]
        assert np.array_equal(ours, theirs), f"volume {t}: voxels differ from dcm2niix's"
