"""RT Dose grids (issue 10, item 2): a multi-frame file with Image Position/Orientation and a Grid Frame
Offset Vector, but no functional groups, gets its real geometry and its dose values.

    medvol convert dose.dcm dose.nii.gz|.npy|.mhd     origin = Image Position, direction = Image Orientation,
                                                     frames along the normal at the offsets (PS3.3 C.8.8.3.2)
    medvol info dose.dcm --json                      valueUnits "GY"; values = stored × Dose Grid Scaling

Files are made with pydicom; the expected geometry is computed here from the data set with NumPy, and
SimpleITK (GDCM's RT Dose reading) and pydicom give the values.
"""
import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from conftest import run_medvol
from oracles import load_npy_with_sidecar

sitk = pytest.importorskip("SimpleITK")
pydicom = pytest.importorskip("pydicom")

RT_DOSE_STORAGE = "1.2.840.10008.5.1.4.1.1.481.2"


def write_dose(path, stored, offsets, origin=(-120.0, -95.5, 40.25), row=(1, 0, 0), column=(0, 1, 0),
               spacing=(2.5, 2.0), scaling=3.1415e-5, bits=16, units="GY"):
    frames, rows, columns = stored.shape
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = RT_DOSE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = RT_DOSE_STORAGE, meta.MediaStorageSOPInstanceUID
    ds.Modality = "RTDOSE"
    ds.PatientName, ds.PatientID = "Dose^Test", "DOSE1"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.SeriesNumber, ds.InstanceNumber = 3, 1
    ds.ImagePositionPatient = [f"{v:.4f}" for v in origin]
    ds.ImageOrientationPatient = [f"{v:.8f}" for v in (*row, *column)]
    ds.PixelSpacing = [f"{spacing[1]}", f"{spacing[0]}"]  # row spacing (y), column spacing (x)
    ds.SliceThickness = ""
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = (0x3004, 0x000C)
    ds.GridFrameOffsetVector = [f"{v:g}" for v in offsets]
    ds.DoseGridScaling = f"{scaling:.6g}"
    ds.DoseUnits, ds.DoseType, ds.DoseSummationType = units, "PHYSICAL", "PLAN"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit, ds.PixelRepresentation = bits - 1, 0
    ds.PixelData = stored.astype(np.uint16 if bits == 16 else np.uint32).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return ds


def expected_geometry(origin, row, column, spacing, offsets):
    """Index (0,0,k) of the volume in file order k → position; the volume is sorted along the normal."""
    row, column = np.array(row, float), np.array(column, float)
    normal = np.cross(row, column)
    if offsets[0] == 0:
        distances = np.array(offsets, float)
    else:
        axis = int(np.argmax(np.abs(normal)))
        distances = (np.array(offsets, float) - offsets[0]) / normal[axis]
    order = np.argsort(distances)
    first = np.array(origin) + normal * distances[order[0]]
    steps = np.diff(distances[order])
    return first, np.column_stack([row, column, normal]), float(steps.mean()), order


def dose_pattern(frames=6, rows=20, columns=24):
    return ((np.arange(frames * rows * columns).reshape(frames, rows, columns) * 37) % 60000).astype(np.uint32)


@pytest.mark.parametrize("offsets", [[0, 3, 6, 9, 12, 15], [40.25, 43.25, 46.25, 49.25, 52.25, 55.25],
                                     [0, -3, -6, -9, -12, -15]], ids=["relative", "absolute", "descending"])
def test_geometry_from_grid_frame_offsets(tmp_path, offsets):
    stored = dose_pattern()
    write_dose(tmp_path / "dose.dcm", stored, offsets)
    run_medvol("convert", tmp_path / "dose.dcm", tmp_path / "d.npy", "--quiet")
    array, info = load_npy_with_sidecar(tmp_path / "d.npy")
    origin, direction, step, order = expected_geometry((-120.0, -95.5, 40.25), (1, 0, 0), (0, 1, 0), (2.5, 2.0), offsets)
    assert np.allclose(info["origin"], origin, atol=1e-6)
    assert np.allclose(info["spacing"], [2.5, 2.0, step], atol=1e-9)
    assert np.allclose(np.array(info["direction"]).reshape(3, 3), direction, atol=1e-9)
    scaling = float(pydicom.dcmread(tmp_path / "dose.dcm").DoseGridScaling)
    assert array.dtype == np.float32
    expected = (stored[order].astype(np.float64) * scaling).astype(np.float32)
    assert np.array_equal(array, expected)
    assert info["valueUnits"] == "GY"


def test_oblique_grid_and_simpleitk(tmp_path):
    """A non-identity orientation; SimpleITK (GDCM reads RT Dose grids) gives the same geometry."""
    angle = 0.3
    row = (np.cos(angle), np.sin(angle), 0.0)
    column = (-np.sin(angle) * 0.6, np.cos(angle) * 0.6, 0.8)
    stored = dose_pattern(5, 16, 18)
    write_dose(tmp_path / "dose.dcm", stored, [0, 2.5, 5, 7.5, 10], row=row, column=column)
    run_medvol("convert", tmp_path / "dose.dcm", tmp_path / "d.mhd", "--quiet")
    medvol = sitk.ReadImage(str(tmp_path / "d.mhd"))
    origin, direction, step, _ = expected_geometry((-120.0, -95.5, 40.25), row, column, (2.5, 2.0), [0, 2.5, 5, 7.5, 10])
    assert np.allclose(medvol.GetOrigin(), origin, atol=1e-4)
    assert np.allclose(np.array(medvol.GetDirection()).reshape(3, 3), direction, atol=1e-6)
    assert np.allclose(medvol.GetSpacing(), (2.5, 2.0, step), atol=1e-6)
    reference = sitk.ReadImage(str(tmp_path / "dose.dcm"))
    assert np.allclose(medvol.GetOrigin(), reference.GetOrigin(), atol=1e-4)
    assert np.allclose(medvol.GetSpacing(), reference.GetSpacing(), atol=1e-4)
    assert np.allclose(medvol.GetDirection(), reference.GetDirection(), atol=1e-6)
    scaling = float(pydicom.dcmread(tmp_path / "dose.dcm").DoseGridScaling)
    assert np.allclose(sitk.GetArrayFromImage(medvol), sitk.GetArrayFromImage(reference).astype(np.float64) * scaling
                       if sitk.GetArrayFromImage(reference).dtype.kind in "iu" else sitk.GetArrayFromImage(reference), rtol=1e-6)


def test_32_bit_dose_is_float64_and_stored_values_keep_integers(tmp_path):
    stored = dose_pattern() * 1000
    write_dose(tmp_path / "dose.dcm", stored, [0, 3, 6, 9, 12, 15], bits=32, scaling=1.25e-7)
    run_medvol("convert", tmp_path / "dose.dcm", tmp_path / "d.npy", "--quiet")
    array, info = load_npy_with_sidecar(tmp_path / "d.npy")
    # SPEC voxel rule: float32 cannot hold every 32-bit integer, so 32-bit doses are float64.
    assert array.dtype == np.float64
    assert np.array_equal(array, stored.astype(np.float64) * 1.25e-7)
    run_medvol("convert", tmp_path / "dose.dcm", tmp_path / "s.npy", "--stored-values", "--quiet")
    raw, raw_info = load_npy_with_sidecar(tmp_path / "s.npy")
    assert raw.dtype.kind == "u" and np.array_equal(raw, stored)
    assert "valueUnits" not in raw_info


def test_info_shows_dose_units(tmp_path):
    write_dose(tmp_path / "dose.dcm", dose_pattern(), [0, 3, 6, 9, 12, 15])
    text = run_medvol("info", tmp_path / "dose.dcm").stdout
    assert "in GY" in text and "3.1415e-05" in text.replace("0.000031415", "3.1415e-05")
    described = run_medvol("info", tmp_path / "dose.dcm", "--json").json()
    assert described["valueUnits"] == "GY"
    assert described["size"] == [24, 20, 6]
    assert described["pixelType"] == "float32"


def test_uneven_offsets_are_reported_and_bad_vectors_are_errors(tmp_path):
    write_dose(tmp_path / "uneven.dcm", dose_pattern(), [0, 3, 6, 10, 13, 16])
    result = run_medvol("info", tmp_path / "uneven.dcm")
    assert "uneven" in result.stdout + result.stderr
    write_dose(tmp_path / "short.dcm", dose_pattern(), [0, 3, 6])
    bad = run_medvol("convert", tmp_path / "short.dcm", tmp_path / "x.nii.gz", check=False)
    assert bad.returncode == 1
    assert f"{tmp_path / 'short.dcm'}: " in bad.stderr and "Grid Frame Offset Vector has 3" in bad.stderr
    assert not (tmp_path / "x.nii.gz").exists()
