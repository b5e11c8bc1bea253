"""`--bids` on generated Siemens mosaics (pydicom, with a CSA image header written here): slice timing for
interleaved and multiband orders, each phase-encoding direction and polarity checked physically (the axis
named in PhaseEncodingDirection, through the written NIfTI's affine, must be the DICOM row or column
direction, with the sign CSA PhaseEncodingDirectionPositive gives); and diffusion from the standard elements
(0018,9087)/(0018,9089) into .bval/.bvec and the .npy sidecar."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from conftest import run_medvol
from dicom_fixtures import diffusion_slice, new_mr_dataset


def csa_header(values: dict[str, list]) -> bytes:
    """A Siemens CSA header (SV10 layout) holding `values` (name → list of numbers or strings)."""
    out = bytearray(b"SV10\x04\x03\x02\x01")
    out += struct.pack("<II", len(values), 77)
    for name, items in values.items():
        out += name.encode().ljust(64, b"\0")
        out += struct.pack("<i4sii", 1, b"FD\0\0", 0, len(items))
        out += struct.pack("<i", 77 if items else 205)
        for item in items:
            text = (repr(float(item)) if isinstance(item, (int, float)) else str(item)).encode() + b"\0"
            out += struct.pack("<iiii", len(text), len(text), 77, len(text))
            out += text + b"\0" * ((4 - len(text) % 4) % 4)
    return bytes(out)


TILE = 4


def write_mosaic(folder: Path, times_per_volume: list[list[float]], phase_axis="COL", positive=1,
                 row=(1.0, 0.0, 0.0), column=(0.0, 1.0, 0.0), comments=None, tr=3000.0) -> Path:
    """One mosaic file per volume, each with its own MosaicRefAcqTimes (ms)."""
    folder.mkdir(parents=True, exist_ok=True)
    nz = len(times_per_volume[0])
    grid = int(np.ceil(np.sqrt(nz)))
    row, column = np.array(row), np.array(column)
    normal = np.cross(row, column)
    series_uid, study_uid, frame_uid = generate_uid(), generate_uid(), generate_uid()
    for t, times in enumerate(times_per_volume):
        ds = new_mr_dataset()
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND", "MOSAIC"]
        ds.Modality, ds.Manufacturer = "MR", "SIEMENS"
        ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Bids^Test", "SECRET-ID", "19700101"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_uid
        ds.StudyDate, ds.StudyTime, ds.AcquisitionTime = "20240102", "101500", f"1016{10 + 3 * t:02d}.250000"
        ds.SeriesNumber, ds.InstanceNumber, ds.AcquisitionNumber = 3, t + 1, t + 1
        ds.SeriesDescription = ds.ProtocolName = "bold"
        ds.RepetitionTime, ds.EchoTime, ds.FlipAngle = tr, 30, 80
        ds.InPlanePhaseEncodingDirection = phase_axis
        if comments:
            ds.ImageComments = comments
        ds.AcquisitionMatrix = [TILE, 0, 0, TILE] if phase_axis == "COL" else [0, TILE, TILE, 0]
        ds.PixelSpacing, ds.SliceThickness, ds.SpacingBetweenSlices = [2.0, 2.0], 3.0, 3.0
        ds.ImageOrientationPatient = [*row, *column]
        ds.ImagePositionPatient = list(np.array([-50.0, -40.0, 10.0]))
        ds.Rows = ds.Columns = grid * TILE
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        pixels = np.zeros((grid * TILE, grid * TILE), np.uint16)
        for k in range(nz):
            r, c = divmod(k, grid)
            pixels[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] = 100 * (t + 1) + k
        ds.PixelData = pixels.tobytes()
        block = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
        block.add_new(0x10, "OB", csa_header({
            "NumberOfImagesInMosaic": [nz],
            "SliceNormalVector": list(normal),
            "MosaicRefAcqTimes": times,
            "PhaseEncodingDirectionPositive": [positive],
            "BandwidthPerPixelPhaseEncode": [25.0],
        }))
        ds.save_as(folder / f"MR{t + 1:04d}.dcm", enforce_file_format=True)
    return folder


def convert(source: Path, out: Path) -> dict:
    run_medvol("convert", "--bids", "--quiet", str(source), str(out))
    return json.loads(out.with_name(out.name.split(".")[0] + ".json").read_text())


def test_interleaved_slice_timing(tmp_path):
    order = [0, 2, 4, 1, 3, 5]                     # slices 0, 2, 4 first, then 1, 3, 5
    times = [0.0] * 6
    for position, slice_index in enumerate(order):
        times[slice_index] = position * 500.0
    source = write_mosaic(tmp_path / "in", [times, times])
    sidecar = convert(source, tmp_path / "out.nii")
    assert sidecar["SliceTiming"] == [0, 1.5, 0.5, 2, 1, 2.5]
    assert "MultibandAccelerationFactor" not in sidecar
    # Identifying fields never reach the sidecar.
    text = (tmp_path / "out.json").read_text()
    assert "SECRET-ID" not in text and "Bids^Test" not in text and "19700101" not in text


def test_multiband_slice_timing_from_the_second_volume(tmp_path):
    second = [0.0, 1000.0, 2000.0, 0.0, 1000.0, 2000.0]          # MB2: slices k and k + 3 together
    first = [0.0, 86397492.5, 2000.0, 0.0, 86397492.5, 2000.0]    # the CMRR first-volume fault
    source = write_mosaic(tmp_path / "in", [first, second], comments="Unaliased MB2/PE1")
    sidecar = convert(source, tmp_path / "out.nii")
    assert sidecar["MultibandAccelerationFactor"] == 2
    assert sidecar["SliceTiming"] == [0, 1, 2, 0, 1, 2]


def test_slice_times_outside_the_repetition_time_are_left_out(tmp_path):
    bad = [0.0, 86397492.5, 2000.0, 0.0]
    source = write_mosaic(tmp_path / "in", [bad, bad])
    sidecar = convert(source, tmp_path / "out.nii")
    assert "SliceTiming" not in sidecar


def axis_world(code: str, affine) -> np.ndarray:
    v = affine[:3, "ijk".index(code[0])]
    v = v / np.linalg.norm(v)
    return -v if code.endswith("-") else v


@pytest.mark.parametrize("phase_axis", ["ROW", "COL"])
@pytest.mark.parametrize("positive", [0, 1])
@pytest.mark.parametrize("row, column", [((1.0, 0, 0), (0, 1.0, 0)), ((0, 1.0, 0), (0, 0, -1.0))], ids=["axial", "sagittal"])
def test_phase_encoding_direction_each_axis_and_polarity(tmp_path, phase_axis, positive, row, column):
    source = write_mosaic(tmp_path / "in", [[0.0, 1000.0, 2000.0, 500.0]] * 2, phase_axis=phase_axis,
                          positive=positive, row=row, column=column)
    out = tmp_path / "out.nii.gz"
    sidecar = convert(source, out)
    code = sidecar["PhaseEncodingDirection"]
    assert code == ("i" if phase_axis == "ROW" else "j") + ("" if positive else "-")
    # DICOM ROW phase encoding runs along a row (the row direction), COL down a column; LPS → RAS.
    expected = np.array(row if phase_axis == "ROW" else column) * [-1, -1, 1] * (1 if positive else -1)
    assert np.allclose(axis_world(code, nib.load(str(out)).affine), expected, atol=1e-6)
    assert sidecar["InPlanePhaseEncodingDirectionDICOM"] == phase_axis
    # Echo spacing from the bandwidth per pixel in the phase direction and the reconstructed lines.
    assert sidecar["ReconMatrixPE"] == TILE
    assert sidecar["EffectiveEchoSpacing"] == pytest.approx(1 / (25.0 * TILE))
    assert sidecar["TotalReadoutTime"] == pytest.approx((TILE - 1) / (25.0 * TILE))


def write_dwi(folder: Path, encodings, row=(0.0, 1.0, 0.0), column=(0.0, 0.0, -1.0), nz=3, siemens=False) -> None:
    """A diffusion series, one file per slice and volume: (0018,9087) and (0018,9089), or with `siemens` the
    CSA image header's B_value and DiffusionGradientDirection."""
    folder.mkdir(parents=True, exist_ok=True)
    uids = (generate_uid(), generate_uid(), generate_uid())
    for t, (b, g) in enumerate(encodings):
        for k in range(nz):
            ds = diffusion_slice(t, k, nz, row, column, uids, "SIEMENS" if siemens else "ACME", 7,
                                 ["ORIGINAL", "PRIMARY", "DIFFUSION"])
            if siemens:
                block = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
                block.add_new(0x10, "OB", csa_header({"B_value": [b], "DiffusionGradientDirection": list(g) if g else []}))
            else:
                ds.add_new(0x00189087, "FD", float(b))
                if g is not None:
                    ds.add_new(0x00189089, "FD", [float(v) for v in g])
            ds.save_as(folder / f"IM{t:02d}_{k:02d}.dcm", enforce_file_format=True)


@pytest.mark.parametrize("siemens", [False, True], ids=["standard", "siemens-csa"])
def test_diffusion_elements_make_bval_bvec_and_npy_sidecar(tmp_path, siemens):
    gradients = [(0, None), (1000, (1.0, 0.0, 0.0)), (1000, (0.0, 0.6, 0.8)), (2000, (0.0, 0.0, 1.0))]
    write_dwi(tmp_path / "in", gradients, siemens=siemens)
    out = tmp_path / "out.nii"
    run_medvol("convert", "--bids", "--quiet", str(tmp_path / "in"), str(out))
    assert np.loadtxt(tmp_path / "out.bval").tolist() == [0, 1000, 1000, 2000]
    bvec = np.loadtxt(tmp_path / "out.bvec")
    affine = nib.load(str(out)).affine
    rotation = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    vectors = bvec.copy()
    if np.linalg.det(affine[:3, :3]) > 0:
        vectors[0] = -vectors[0]
    world = (rotation @ vectors).T * [-1, -1, 1]                # RAS → LPS
    for (b, g), w in zip(gradients, world):
        expected = np.zeros(3) if g is None else np.array(g)
        assert np.allclose(w, expected, atol=1e-6), (w, expected)
    # The .npy geometry sidecar carries the same encodings in LPS.
    run_medvol("convert", "--quiet", str(tmp_path / "in"), str(tmp_path / "vol.npy"))
    info = json.loads((tmp_path / "vol.json").read_text())
    assert [e["bValue"] for e in info["diffusion"]] == [0, 1000, 1000, 2000]
    assert np.allclose(info["diffusion"][2]["gradient"], [0.0, 0.6, 0.8])


def test_bids_refused_for_other_formats(tmp_path):
    write_dwi(tmp_path / "in", [(0, None), (1000, (1.0, 0.0, 0.0))])
    result = run_medvol("convert", "--bids", str(tmp_path / "in"), str(tmp_path / "out.mhd"), check=False)
    assert result.returncode != 0 and "NIfTI" in result.stderr
    assert not list(tmp_path.glob("out*"))


def test_enhanced_mr_diffusion_per_frame(tmp_path):
    """An enhanced MR file: each frame's MR Diffusion Sequence gives its volume's encoding (frames shuffled)."""
    from pydicom.sequence import Sequence
    from test_enhanced_multiframe import Frame, _geometry, _shuffled, _stored, write_enhanced
    geometry = _geometry(True)
    nz, nt = 3, 3
    values = _stored(nz, nt, seed=3)
    encodings = [(0, None), (1000, (0.0, 0.6, 0.8)), (1000, (1.0, 0.0, 0.0))]
    frames = [Frame(values[t, k], geometry.position(k), temporal_index=t + 1) for t in range(nt) for k in range(nz)]
    path = tmp_path / "dwi.dcm"
    write_enhanced(path, _shuffled(frames, 4), geometry)
    ds = pydicom.dcmread(path)
    for groups in ds.PerFrameFunctionalGroupsSequence:
        b, g = encodings[groups.FrameContentSequence[0].TemporalPositionIndex - 1]
        item = Dataset()
        item.add_new(0x00189087, "FD", float(b))
        if g is not None:
            direction = Dataset()
            direction.add_new(0x00189089, "FD", list(g))
            item.add_new(0x00189076, "SQ", Sequence([direction]))
        groups.add_new(0x00189117, "SQ", Sequence([item]))
    ds.save_as(path, enforce_file_format=True)
    run_medvol("convert", "--quiet", str(path), str(tmp_path / "vol.npy"))
    info = json.loads((tmp_path / "vol.json").read_text())
    assert [e["bValue"] for e in info["diffusion"]] == [0, 1000, 1000]
    assert np.allclose([e["gradient"] for e in info["diffusion"]], [[0, 0, 0], [0, 0.6, 0.8], [1, 0, 0]])


def test_existing_sidecar_leaves_nothing_written(tmp_path):
    write_dwi(tmp_path / "in", [(0, None), (1000, (1.0, 0.0, 0.0))])
    (tmp_path / "out.bvec").write_text("keep\n")
    result = run_medvol("convert", "--bids", str(tmp_path / "in"), str(tmp_path / "out.nii.gz"), check=False)
    assert result.returncode != 0 and "out.bvec" in result.stderr and "already exists" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out.bvec"]
    assert (tmp_path / "out.bvec").read_text() == "keep\n"


def test_enhanced_mr_sidecar_from_the_functional_groups(tmp_path):
    """Enhanced MR keeps its acquisition parameters in functional groups: the sidecar finds them there."""
    from pydicom.sequence import Sequence
    from test_enhanced_multiframe import Frame, _geometry, _stored, write_enhanced
    geometry = _geometry(False)
    values = _stored(3, 1, seed=5)
    frames = [Frame(values[0, k], geometry.position(k), echo_time=35.0) for k in range(3)]
    path = tmp_path / "t2.dcm"
    write_enhanced(path, frames, geometry)
    ds = pydicom.dcmread(path)
    shared = ds.SharedFunctionalGroupsSequence[0]

    def item(**attributes):
        result = Dataset()
        for keyword, value in attributes.items():
            setattr(result, keyword, value)
        return Sequence([result])
    shared.MRTimingAndRelatedParametersSequence = item(RepetitionTime=2500.0, FlipAngle=12.0)
    shared.MRFOVGeometrySequence = item(InPlanePhaseEncodingDirection="ROW")
    shared.MRModifierSequence = item(ParallelReductionFactorInPlane=2.0, ParallelAcquisition="YES")
    ds.save_as(path, enforce_file_format=True)
    sidecar = convert(path, tmp_path / "out.nii")
    assert sidecar["EchoTime"] == pytest.approx(0.035)
    assert sidecar["RepetitionTime"] == pytest.approx(2.5)
    assert sidecar["FlipAngle"] == 12
    assert sidecar["InPlanePhaseEncodingDirectionDICOM"] == "ROW"
    assert sidecar["ParallelReductionFactorInPlane"] == 2
    assert np.allclose(sidecar["ImageOrientationPatientDICOM"], [*geometry.row, *geometry.column])
    assert "PhaseEncodingDirection" not in sidecar        # no polarity in the headers: not guessed
