"""DICOM series written with pydicom (independently of medvol) for the conformance tests.

Every series has a known voxel pattern, so tests can check exact values, and every geometric property
(orientation, position, spacing, instance numbers, file names) can be chosen to provoke a mistake.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"


@dataclass
class SeriesSpec:
    """What to write. `values` is the array of *stored* values, shape (nz, ny, nx), slice k at position k."""

    values: np.ndarray
    spacing: tuple = (0.8, 0.6, 2.5)              # x (between columns), y (between rows), z
    origin: tuple = (-100.0, -120.0, 30.0)
    row: tuple = (1.0, 0.0, 0.0)                   # direction of increasing column index
    column: tuple = (0.0, 1.0, 0.0)                # direction of increasing row index
    modality: str = "CT"
    series_uid: str = field(default_factory=generate_uid)
    study_uid: str = field(default_factory=generate_uid)
    frame_of_reference_uid: str = field(default_factory=generate_uid)
    series_number: int = 1
    description: str = "conformance"
    slope: float | None = None
    intercept: float | None = None
    bits_stored: int | None = None
    instance_numbers: list | None = None          # per slice k; default 1..nz
    file_names: list | None = None                # per slice k; default IM00001.dcm…
    image_type: str = "ORIGINAL\\PRIMARY\\AXIAL"
    transfer_syntax: str = ExplicitVRLittleEndian
    patient_id: str = "PAT001"
    study_date: str = "20240102"
    positions: list | None = None                 # per slice k: Image Position (Patient); default along the normal
    gantry_tilt: float | None = None              # Gantry/Detector Tilt (0018,1120), degrees

    @property
    def normal(self) -> np.ndarray:
        return np.cross(np.array(self.row), np.array(self.column))

    def position(self, k: int) -> np.ndarray:
        if self.positions is not None:
            return np.array(self.positions[k], dtype=float)
        return np.array(self.origin) + self.normal * self.spacing[2] * k

    def direction(self) -> np.ndarray:
        """ITK's direction matrix: columns row, column, normal."""
        return np.column_stack([self.row, self.column, self.normal])


def write_series(folder: Path, spec: SeriesSpec) -> list[Path]:
    """Writes one file per slice; returns the paths in slice order."""
    folder.mkdir(parents=True, exist_ok=True)
    nz, ny, nx = spec.values.shape
    dtype = spec.values.dtype
    bits = dtype.itemsize * 8
    paths = []
    for k in range(nz):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE if spec.modality == "CT" else MR_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = spec.transfer_syntax
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.ImageType = spec.image_type.split("\\")
        ds.Modality = spec.modality
        ds.PatientName = "Conformance^Test"
        ds.PatientID = spec.patient_id
        ds.StudyDate = spec.study_date
        ds.StudyTime = "101500"
        ds.StudyID = "1"
        ds.AccessionNumber = ""
        ds.ReferringPhysicianName = ""
        ds.PatientBirthDate = ""
        ds.PatientSex = ""
        ds.StudyInstanceUID = spec.study_uid
        ds.SeriesInstanceUID = spec.series_uid
        ds.SeriesNumber = spec.series_number
        ds.SeriesDescription = spec.description
        ds.FrameOfReferenceUID = spec.frame_of_reference_uid
        ds.InstanceNumber = (spec.instance_numbers or list(range(1, nz + 1)))[k]
        ds.ImagePositionPatient = [f"{v:.6f}" for v in spec.position(k)]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in (*spec.row, *spec.column)]
        ds.PixelSpacing = [spec.spacing[1], spec.spacing[0]]
        ds.SliceThickness = spec.spacing[2]
        if spec.gantry_tilt is not None:
            ds.GantryDetectorTilt = spec.gantry_tilt
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = ny, nx
        ds.BitsAllocated = bits
        ds.BitsStored = spec.bits_stored or bits
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = 1 if dtype.kind == "i" else 0
        if spec.slope is not None:
            ds.RescaleSlope = spec.slope
        if spec.intercept is not None:
            ds.RescaleIntercept = spec.intercept
        ds.PixelData = np.ascontiguousarray(spec.values[k]).astype(dtype.newbyteorder("<")).tobytes()
        name = (spec.file_names or [f"IM{k + 1:05d}.dcm" for k in range(nz)])[k]
        path = folder / name
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def pattern(nz: int, ny: int, nx: int, dtype=np.int16, low: int = -1000, span: int = 3000, seed: int = 0) -> np.ndarray:
    """Values that differ per slice, row and column (so a flip or shuffle anywhere shows)."""
    k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    values = (k * 397 + j * 31 + i * 7 + seed) % span + low
    return values.astype(dtype)


def oblique_axes():
    """Row and column directions of a plane tilted about an oblique axis (unit, orthogonal)."""
    angle_a, angle_b = np.radians(20.0), np.radians(-35.0)
    rx = np.array([[1, 0, 0], [0, np.cos(angle_a), -np.sin(angle_a)], [0, np.sin(angle_a), np.cos(angle_a)]])
    rz = np.array([[np.cos(angle_b), -np.sin(angle_b), 0], [np.sin(angle_b), np.cos(angle_b), 0], [0, 0, 1]])
    rotation = rz @ rx
    return tuple(rotation[:, 0]), tuple(rotation[:, 1])


def shuffled_names(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    names = [f"{rng.getrandbits(40):010x}" for _ in range(count)]
    return names


def new_mr_dataset() -> Dataset:
    """An empty MR Image Storage instance (explicit VR little endian) with a new SOP Instance UID."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MR_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = MR_IMAGE_STORAGE, meta.MediaStorageSOPInstanceUID
    return ds


def diffusion_slice(t: int, k: int, nz: int, row, column, uids: tuple[str, str, str], manufacturer: str,
                    series_number: int, image_type: list[str]) -> Dataset:
    """Slice `k` of volume `t` of a generated diffusion series: 4×4 uint16 pixels of value t·10 + k, slices 2 mm
    apart along row × column from (10, −20, 30); `uids` are the study, series and frame of reference UIDs. The
    caller adds the diffusion elements (standard, CSA or private) and saves it."""
    study_uid, series_uid, frame_uid = uids
    ds = new_mr_dataset()
    ds.ImageType = image_type
    ds.Modality, ds.Manufacturer = "MR", manufacturer
    ds.PatientID = "P"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_uid
    ds.SeriesNumber, ds.InstanceNumber = series_number, t * nz + k + 1
    ds.AcquisitionNumber = t + 1
    ds.TemporalPositionIdentifier = t + 1
    ds.ImageOrientationPatient = [*row, *column]
    ds.ImagePositionPatient = list(np.array([10.0, -20.0, 30.0]) + np.cross(row, column) * 2.0 * k)
    ds.PixelSpacing, ds.SliceThickness = [1.5, 1.5], 2.0
    ds.Rows = ds.Columns = 4
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.full((4, 4), t * 10 + k, np.uint16).tobytes()
    return ds
