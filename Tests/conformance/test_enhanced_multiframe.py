"""Enhanced multi-frame files (PS3.3 C.7.6.16 functional groups) written with pydicom: per-frame Plane
Position, Frame Content, Pixel Value Transformation and frame type; shared Plane Orientation and Pixel
Measures. Frames are stored in a shuffled order; medvol must sort them along the normal, group several
frames per position into a 4D volume (temporal position index, or echo time), split frames of two image
types (magnitude and phase) into two stacks, and apply per-frame rescale. Every expectation is built in
the test from what it wrote.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from dicom_fixtures import oblique_axes
from pixel_fixtures import assert_voxels_equal, medvol_volume

ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"


@dataclass
class Frame:
    """One frame as written: its stored pixels and what its functional groups say."""
    pixels: np.ndarray
    position: np.ndarray
    temporal_index: int | None = None
    echo_time: float | None = None
    frame_type: str = "ORIGINAL\\PRIMARY\\M\\NONE"
    slope: float | None = None
    intercept: float | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Geometry:
    row: np.ndarray
    column: np.ndarray
    spacing: tuple          # x (between columns), y (between rows), slice step
    origin: np.ndarray

    @property
    def normal(self):
        return np.cross(self.row, self.column)

    def position(self, k: int) -> np.ndarray:
        return self.origin + self.normal * self.spacing[2] * k

    def direction(self) -> list[float]:
        return np.column_stack([self.row, self.column, self.normal]).ravel().tolist()


def _item(**attributes) -> Dataset:
    item = Dataset()
    for keyword, value in attributes.items():
        setattr(item, keyword, value)
    return item


def write_enhanced(path, frames: list[Frame], geometry: Geometry, *, sop_class=ENHANCED_MR, modality="MR",
                   shared_rescale: tuple | None = None, dtype=np.int16, series_number=1):
    """Writes `frames` in the order given, as one enhanced multi-frame file."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "MIXED"]
    ds.PatientID, ds.PatientName = "ENH001", "Enhanced^Test"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SeriesNumber, ds.InstanceNumber = series_number, 1
    ds.FrameOfReferenceUID = generate_uid()
    rows, columns = frames[0].pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated = ds.BitsStored = np.dtype(dtype).itemsize * 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = int(np.dtype(dtype).kind == "i")
    ds.NumberOfFrames = len(frames)

    shared = Dataset()
    shared.PixelMeasuresSequence = Sequence([_item(PixelSpacing=[geometry.spacing[1], geometry.spacing[0]],
                                                   SliceThickness=geometry.spacing[2])])
    shared.PlaneOrientationSequence = Sequence([_item(
        ImageOrientationPatient=[f"{v:.8f}" for v in (*geometry.row, *geometry.column)])])
    if shared_rescale:
        shared.PixelValueTransformationSequence = Sequence([_item(
            RescaleSlope=shared_rescale[0], RescaleIntercept=shared_rescale[1], RescaleType="HU")])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])

    per_frame = []
    for number, frame in enumerate(frames):
        groups = Dataset()
        groups.PlanePositionSequence = Sequence([_item(ImagePositionPatient=[f"{v:.6f}" for v in frame.position])])
        content = _item(FrameAcquisitionNumber=1, DimensionIndexValues=[1, number + 1])
        if frame.temporal_index is not None:
            content.TemporalPositionIndex = frame.temporal_index
        groups.FrameContentSequence = Sequence([content])
        if frame.slope is not None:
            groups.PixelValueTransformationSequence = Sequence([_item(
                RescaleSlope=frame.slope, RescaleIntercept=frame.intercept, RescaleType="US")])
        if frame.echo_time is not None:
            groups.MREchoSequence = Sequence([_item(EffectiveEchoTime=frame.echo_time)])
        frame_type = frame.frame_type.split("\\")
        if sop_class == ENHANCED_MR:
            groups.MRImageFrameTypeSequence = Sequence([_item(FrameType=frame_type)])
        else:
            groups.CTImageFrameTypeSequence = Sequence([_item(FrameType=frame_type)])
        per_frame.append(groups)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    ds.PixelData = np.stack([f.pixels for f in frames]).astype(np.dtype(dtype).newbyteorder("<")).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return ds


def _geometry(oblique: bool) -> Geometry:
    if oblique:
        row, column = (np.array(v) for v in oblique_axes())
        return Geometry(row, column, (0.7, 0.9, 2.5), np.array([-31.5, 12.25, 40.0]))
    return Geometry(np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), (0.8, 0.6, 3.0), np.array([-100.0, -80.0, 25.0]))


def _stored(nz, nt, rows=18, columns=22, seed=0):
    """(nt, nz, rows, columns) int16 values, different everywhere."""
    rng = np.random.default_rng(seed)
    return rng.integers(-2000, 3000, (nt, nz, rows, columns)).astype(np.int16)


def _assert_geometry(sidecar, geometry: Geometry, size):
    assert sidecar["size"] == list(size)
    assert np.allclose(sidecar["spacing"], geometry.spacing, atol=1e-4), sidecar["spacing"]
    assert np.allclose(sidecar["origin"], geometry.origin, atol=1e-4), sidecar["origin"]
    assert np.allclose(sidecar["direction"], geometry.direction(), atol=1e-6), sidecar["direction"]


def _shuffled(frames, seed):
    frames = list(frames)
    random.Random(seed).shuffle(frames)
    return frames


# MARK: 3D

@pytest.mark.parametrize("oblique", [False, True], ids=["axial", "oblique"])
def test_frames_in_shuffled_order_are_sorted_along_the_normal(medvol, tmp_path, oblique):
    geometry = _geometry(oblique)
    values = _stored(nz=9, nt=1, seed=1)[0]
    frames = [Frame(values[k], geometry.position(k)) for k in range(9)]
    write_enhanced(tmp_path / "enhanced.dcm", _shuffled(frames, 3), geometry)
    actual, sidecar = medvol_volume(medvol, tmp_path / "enhanced.dcm", tmp_path / "out")
    assert actual.dtype == np.int16
    assert_voxels_equal(actual, values, "frames sorted by position")
    _assert_geometry(sidecar, geometry, [22, 18, 9])


def test_shared_rescale_applies_to_every_frame(medvol, tmp_path):
    """Enhanced CT: a Pixel Value Transformation in the shared groups (HU = stored − 1024)."""
    geometry = _geometry(False)
    stored = (_stored(nz=5, nt=1, seed=2)[0].astype(np.int32) + 2000).astype(np.uint16)
    frames = [Frame(stored[k], geometry.position(k), frame_type="ORIGINAL\\PRIMARY\\AXIAL\\NONE") for k in range(5)]
    write_enhanced(tmp_path / "ct.dcm", _shuffled(frames, 4), geometry, sop_class=ENHANCED_CT, modality="CT",
                   shared_rescale=(1, -1024), dtype=np.uint16)
    actual, sidecar = medvol_volume(medvol, tmp_path / "ct.dcm", tmp_path / "out")
    assert actual.dtype == np.int16
    assert_voxels_equal(actual, stored.astype(np.int32) - 1024, "shared rescale")
    _assert_geometry(sidecar, geometry, [22, 18, 5])


def test_per_frame_rescale_gives_float32(medvol, tmp_path):
    geometry = _geometry(True)
    stored = _stored(nz=6, nt=1, seed=5)[0]
    slopes = [0.5, 1.5, 0.25, 2.125, 1.0, 0.75]
    intercepts = [0.0, -10.5, 3.0, 100.0, -0.25, 7.0]
    frames = [Frame(stored[k], geometry.position(k), slope=slopes[k], intercept=intercepts[k]) for k in range(6)]
    write_enhanced(tmp_path / "rescaled.dcm", _shuffled(frames, 6), geometry)
    actual, sidecar = medvol_volume(medvol, tmp_path / "rescaled.dcm", tmp_path / "out")
    assert actual.dtype == np.float32
    expected = np.stack([stored[k] * slopes[k] + intercepts[k] for k in range(6)])
    assert_voxels_equal(actual, expected, "per-frame rescale")
    _assert_geometry(sidecar, geometry, [22, 18, 6])


# MARK: 4D

def test_several_frames_per_position_by_temporal_index(medvol, tmp_path):
    geometry = _geometry(True)
    nz, nt = 5, 3
    values = _stored(nz, nt, seed=7)
    frames = [Frame(values[t, k], geometry.position(k), temporal_index=t + 1) for t in range(nt) for k in range(nz)]
    write_enhanced(tmp_path / "dynamic.dcm", _shuffled(frames, 8), geometry)
    actual, sidecar = medvol_volume(medvol, tmp_path / "dynamic.dcm", tmp_path / "out")
    assert actual.shape == (nt, nz, 18, 22)
    assert_voxels_equal(actual, values, "4D by temporal position index")
    _assert_geometry(sidecar, geometry, [22, 18, nz, nt])


def test_several_frames_per_position_by_echo_time(medvol, tmp_path):
    geometry = _geometry(False)
    nz, echoes = 4, [9.5, 2.25, 30.0]          # written out of order; t follows the echo time
    values = _stored(nz, len(echoes), seed=9)
    frames = [Frame(values[e, k], geometry.position(k), echo_time=echoes[e]) for e in range(len(echoes)) for k in range(nz)]
    write_enhanced(tmp_path / "echoes.dcm", _shuffled(frames, 10), geometry)
    actual, sidecar = medvol_volume(medvol, tmp_path / "echoes.dcm", tmp_path / "out")
    order = np.argsort(echoes)
    assert_voxels_equal(actual, values[order], "4D by echo time")
    _assert_geometry(sidecar, geometry, [22, 18, nz, len(echoes)])


def test_uneven_frame_counts_per_position_are_a_clear_error(medvol, tmp_path):
    geometry = _geometry(False)
    values = _stored(3, 2, seed=11)
    frames = [Frame(values[t, k], geometry.position(k), temporal_index=t + 1) for t in range(2) for k in range(3)][:-1]
    write_enhanced(tmp_path / "uneven.dcm", frames, geometry)
    result = medvol("convert", tmp_path / "uneven.dcm", tmp_path / "x.npy", check=False)
    assert result.returncode == 1
    assert "positions hold different numbers of images" in result.stderr, result.stderr


# MARK: Two image types in one file

def test_magnitude_and_phase_frames_become_two_stacks(medvol, tmp_path):
    geometry = _geometry(True)
    nz = 6
    magnitude = _stored(nz, 1, seed=12)[0]
    phase = _stored(nz, 1, seed=13)[0]
    frames = [Frame(magnitude[k], geometry.position(k), frame_type="ORIGINAL\\PRIMARY\\M\\NONE") for k in range(nz)]
    frames += [Frame(phase[k], geometry.position(k), frame_type="ORIGINAL\\PRIMARY\\P\\NONE") for k in range(nz)]
    write_enhanced(tmp_path / "mp.dcm", _shuffled(frames, 14), geometry, series_number=7)

    listing = medvol("series", tmp_path / "mp.dcm", "--json").json()
    stacks = listing["stacks"]
    assert [s["imageCount"] for s in stacks] == [nz, nz]
    types = sorted(s["formation"].split("image type ")[-1] for s in stacks)
    assert types == ["M\\NONE", "P\\NONE"], [s["formation"] for s in stacks]

    # Every stack in one run (stack numbers are not yet stable between runs: see the next test).
    out = tmp_path / "every"
    medvol("convert", tmp_path / "mp.dcm", out, "--format", "npy", "--name", "{Index}", "--quiet")
    volumes = sorted(out.glob("*.npy"))
    assert len(volumes) == 2
    arrays = [np.load(path) for path in volumes]
    for path in volumes:
        _assert_geometry(json.loads(path.with_suffix(".json").read_text()), geometry, [22, 18, nz])
    matched = sorted((np.array_equal(a, magnitude), np.array_equal(a, phase)) for a in arrays)
    assert matched == [(False, True), (True, False)], "one stack must hold the magnitude frames, the other the phase frames"


def test_stack_numbers_are_the_same_in_every_run(medvol, tmp_path):
    geometry = _geometry(False)
    values = _stored(3, 2, seed=15)
    frames = [Frame(values[0, k], geometry.position(k), frame_type="ORIGINAL\\PRIMARY\\M\\NONE") for k in range(3)]
    frames += [Frame(values[1, k], geometry.position(k), frame_type="ORIGINAL\\PRIMARY\\P\\NONE") for k in range(3)]
    write_enhanced(tmp_path / "mp.dcm", frames, geometry)
    orders = {tuple(s["formation"] for s in medvol("series", tmp_path / "mp.dcm", "--json").json()["stacks"])
              for _ in range(8)}
    assert len(orders) == 1, orders
