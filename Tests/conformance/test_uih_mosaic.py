"""United Imaging (Manufacturer UIH) mosaic ("grid") images are cut into their slices (issue 10, item 7).

Each file is made with pydicom from a known volume: slice s is tile (s // across, s % across) of a grid
⌈√N⌉ tiles across and ⌈N / across⌉ down, the slice count in (0065,1050) of creator "Image Private Header"
(dcm2niix's kNumberOfImagesInGridUIH), and Image Position (Patient) is the first slice's corner (UIH
positions the first slice, not the whole mosaic as Siemens does). medvol's volume must equal the known
volume voxel for voxel, its geometry the one the volume was tiled from, and both must agree with
dcm2niix run on the same files (compared physically: each medvol voxel centre, LPS → RAS, through
dcm2niix's affine to a whole voxel index holding the same value) — for one volume and for fMRI (several
mosaics of one series → 4D), axial and oblique, and in implicit VR (the count then arrives as UN).
"""
from __future__ import annotations

import math
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from conftest import ROOT
from dicom_fixtures import MR_IMAGE_STORAGE, oblique_axes, pattern
from pixel_fixtures import medvol_volume

DCM2NIIX = ROOT / ".venv" / "bin" / "dcm2niix"
INDEX_TOLERANCE = 1e-3   # voxels (dcm2niix stores its affine as float32)


def grid(count: int) -> tuple[int, int]:
    """UIH tiles: ⌈√N⌉ across, ⌈N / across⌉ down (dcm2niix's layout for UIH grids)."""
    across = math.ceil(math.sqrt(count))
    return across, math.ceil(count / across)


def tile(volume: np.ndarray) -> np.ndarray:
    """(nz, ny, nx) → one mosaic image, slice s in tile (s // across, s % across), other tiles zero."""
    nz, ny, nx = volume.shape
    across, down = grid(nz)
    mosaic = np.zeros((down * ny, across * nx), volume.dtype)
    for s in range(nz):
        r, c = divmod(s, across)
        mosaic[r * ny:(r + 1) * ny, c * nx:(c + 1) * nx] = volume[s]
    return mosaic


def write_uih_series(folder: Path, volumes: np.ndarray, *, origin, row, column, spacing, implicit: bool = False,
                     manufacturer: str = "UIH") -> list[Path]:
    """One mosaic file per volume t of `volumes` (nt, nz, ny, nx), as a UIH scanner writes fMRI."""
    folder.mkdir(parents=True, exist_ok=True)
    series, study = generate_uid(), generate_uid()
    nt, nz, ny, nx = volumes.shape
    paths = []
    for t in range(nt):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = MR_IMAGE_STORAGE
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = MR_IMAGE_STORAGE, ds.file_meta.MediaStorageSOPInstanceUID
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "MOSAIC"]
        ds.Modality, ds.Manufacturer = "MR", manufacturer
        ds.PatientID, ds.PatientName, ds.StudyDate, ds.StudyTime = "UIH001", "Grid^Test", "20240102", "101500"
        ds.ProtocolName = ds.SeriesDescription = "fmri_grid"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SeriesNumber = study, series, 5
        ds.AcquisitionNumber = ds.InstanceNumber = t + 1
        ds.AcquisitionTime = f"1015{t * 2:02d}.000000"
        ds.RepetitionTime, ds.EchoTime = 2000, 30
        ds.SliceThickness = spacing[2]
        ds.SpacingBetweenSlices = spacing[2]
        ds.ImagePositionPatient = [f"{v:.6f}" for v in origin]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in (*row, *column)]
        ds.PixelSpacing = [spacing[1], spacing[0]]
        mosaic = tile(volumes[t])
        ds.Rows, ds.Columns = mosaic.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit, ds.PixelRepresentation = 15, 1
        ds.add_new(0x00650010, "LO", "Image Private Header")
        ds.add_new(0x00651050, "DS", str(nz))
        ds.PixelData = mosaic.astype("<i2").tobytes()
        path = folder / f"grid{t + 1:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def dcm2niix(folder: Path, out: Path) -> nib.Nifti1Image:
    out.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([str(DCM2NIIX), "-f", "grid", "-z", "n", "-b", "n", "-o", str(out), str(folder)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    niftis = sorted(out.glob("*.nii"))
    assert len(niftis) == 1, (niftis, result.stdout)
    return nib.load(str(niftis[0]))


def assert_same_as_dcm2niix(array: np.ndarray, geometry: dict, image: nib.Nifti1Image):
    """medvol's (t, z, y, x) voxels and LPS geometry against dcm2niix's NIfTI (RAS), physically."""
    expected = np.asarray(image.dataobj)
    volumes = array.reshape((-1,) + array.shape[-3:])
    references = expected.reshape(expected.shape[:3] + (-1,))
    assert volumes.shape[0] == references.shape[3], f"{volumes.shape[0]} volumes, dcm2niix has {references.shape[3]}"
    direction = np.array(geometry["direction"]).reshape(3, 3)
    lps_from_index = np.eye(4)
    lps_from_index[:3, :3] = direction @ np.diag(geometry["spacing"])
    lps_from_index[:3, 3] = geometry["origin"]
    reference_from_index = np.linalg.inv(image.affine) @ np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps_from_index
    nx, ny, nz = geometry["size"][:3]
    i, j, k = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")
    mapped = (reference_from_index @ np.stack([i.ravel(), j.ravel(), k.ravel(), np.ones(i.size)]))[:3]
    rounded = np.rint(mapped).astype(int)
    assert np.abs(mapped - rounded).max() < INDEX_TOLERANCE, "geometry differs from dcm2niix's"
    assert all((rounded[a] >= 0).all() and (rounded[a] < references.shape[a]).all() for a in range(3))
    for t in range(volumes.shape[0]):
        assert np.array_equal(volumes[t].transpose(2, 1, 0).ravel(), references[rounded[0], rounded[1], rounded[2], t]), \
            f"volume {t}: voxels differ from dcm2niix's"


def assert_true_geometry(geometry: dict, *, origin, row, column, spacing, size):
    normal = np.cross(row, column)
    assert geometry["size"] == list(size)
    assert np.allclose(geometry["spacing"], spacing, atol=1e-6)
    assert np.allclose(geometry["origin"], origin, atol=1e-4), "the first slice is at the mosaic's Image Position (UIH)"
    assert np.allclose(np.array(geometry["direction"]).reshape(3, 3), np.column_stack([row, column, normal]), atol=1e-6)


ORIENTATIONS = {
    "axial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "oblique": oblique_axes(),
}


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
@pytest.mark.parametrize("slices, volumes", [(7, 1), (5, 4), (12, 3)], ids=["7-slices", "fmri-5x4", "fmri-12x3"])
def test_uih_mosaic_matches_truth_and_dcm2niix(medvol, tmp_path, orientation, slices, volumes):
    row, column = ORIENTATIONS[orientation]
    spacing, origin = (1.5, 2.0, 3.5), (-60.25, -45.5, 12.75)
    truth = np.stack([pattern(slices, 9, 11, seed=100 * t) for t in range(volumes)])   # (t, z, y, x)
    write_uih_series(tmp_path / "dicom", truth, origin=origin, row=row, column=column, spacing=spacing)

    listing = medvol("series", tmp_path / "dicom", "--json").json()["stacks"]
    assert len(listing) == 1 and listing[0]["imageCount"] == slices * volumes and listing[0]["problem"] is None, listing

    array, geometry = medvol_volume(medvol, tmp_path / "dicom", tmp_path / "medvol")
    size = (11, 9, slices) + ((volumes,) if volumes > 1 else ())
    assert np.array_equal(array, truth if volumes > 1 else truth[0]), "voxels differ from the volume that was tiled"
    assert_true_geometry(geometry, origin=origin, row=row, column=column, spacing=spacing, size=size)
    if volumes > 1:
        assert geometry["timeSpacing"] == pytest.approx(2.0)

    assert_same_as_dcm2niix(array, geometry, dcm2niix(tmp_path / "dicom", tmp_path / "dcm2niix"))


def test_uih_mosaic_in_implicit_vr(medvol, tmp_path):
    """Implicit VR: (0065,1050) arrives as UN, which GDCM's dictionary cannot name; it is still a DS count."""
    row, column = oblique_axes()
    truth = pattern(6, 8, 10, seed=3)[None]
    write_uih_series(tmp_path / "dicom", truth, origin=(1.0, 2.0, 3.0), row=row, column=column, spacing=(1.0, 1.25, 2.0),
                     implicit=True)
    array, geometry = medvol_volume(medvol, tmp_path / "dicom", tmp_path / "medvol")
    assert np.array_equal(array, truth[0])
    assert_true_geometry(geometry, origin=(1.0, 2.0, 3.0), row=row, column=column, spacing=(1.0, 1.25, 2.0), size=(10, 8, 6))
    assert_same_as_dcm2niix(array, geometry, dcm2niix(tmp_path / "dicom", tmp_path / "dcm2niix"))
    dump = medvol("dump", tmp_path / "dicom" / "grid001.dcm", "--grep", "NumberOfSliceInVolume").stdout
    assert "(0065,1050)" in dump and "DS" in dump and "6" in dump, dump


def test_other_manufacturers_are_not_cut_as_uih(medvol, tmp_path):
    """The same private element from another vendor is not a UIH slice count: with ImageType MOSAIC but no
    Siemens count, the file is skipped with a reason rather than cut wrongly."""
    truth = pattern(4, 8, 10)[None]
    write_uih_series(tmp_path / "dicom", truth, origin=(0, 0, 0), row=(1, 0, 0), column=(0, 1, 0), spacing=(1, 1, 1),
                     manufacturer="ACME")
    listing = medvol("series", tmp_path / "dicom", "--json").json()
    assert listing["stacks"] == [] and "mosaic image without a slice count" in listing["skipped"][0]["reason"], listing


def test_uih_slice_direction_where_dcm2niix_guesses(medvol, tmp_path):
    """A documented difference (docs/dcm2niix-differences.md): with nothing in a UIH header to tell the
    slice direction, dcm2niix guesses from the sign of the normal's components and, when they sum below
    zero, stacks the slices from the first one along −(row × column). medvol stacks them along row × column,
    DICOM's slice normal: the same voxels and first slice, the slice axis reversed."""
    row, column = (0.0, 1.0, 0.0), (1.0, 0.0, 0.0)          # normal (0, 0, -1)
    truth = pattern(5, 8, 10, seed=9)[None]
    write_uih_series(tmp_path / "dicom", truth, origin=(4.0, 5.0, 6.0), row=row, column=column, spacing=(1.0, 1.0, 2.0))
    array, geometry = medvol_volume(medvol, tmp_path / "dicom", tmp_path / "medvol")
    assert np.array_equal(array, truth[0])
    assert_true_geometry(geometry, origin=(4.0, 5.0, 6.0), row=row, column=column, spacing=(1.0, 1.0, 2.0), size=(10, 8, 5))
    image = dcm2niix(tmp_path / "dicom", tmp_path / "dcm2niix")
    with pytest.raises(AssertionError):
        assert_same_as_dcm2niix(array, geometry, image)
    reversed_axis = dict(geometry)
    reversed_axis["direction"] = list((np.array(geometry["direction"]).reshape(3, 3) * [1, 1, -1]).ravel())
    assert_same_as_dcm2niix(array, reversed_axis, image)
