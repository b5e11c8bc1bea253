"""Standard elements that arrive with VR UN (they went through a system that did not know their VR) must be
read with the dictionary's VR (PS3.5 §6.2.2) on every path: the UN copy of a series gives exactly the voxels
and geometry of the original, and what pydicom reads from it."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pydicom.config
import pytest
from pydicom.dataelem import DataElement
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite, write_data_element
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian

from dicom_fixtures import SeriesSpec, oblique_axes, pattern, write_series

#: VRs of the standard elements the header scan reads.
SCANNED_VRS = {"DS", "IS", "US", "UL", "SS", "CS", "UI", "LO", "SH", "DA", "TM"}


def value_bytes(element: DataElement, little_endian: bool) -> bytes:
    """The encoded value of `element` in the given byte order (what a UN element of it would carry)."""
    buffer = DicomBytesIO()
    buffer.is_little_endian = little_endian
    buffer.is_implicit_VR = True
    write_data_element(buffer, element)
    return buffer.getvalue()[8:]          # after the implicit header: tag (4) and length (4)


def with_unknown_vrs(source: Path, target: Path, little_endian: bool) -> int:
    """Writes `source` again with every top-level standard element of a scanned VR as UN, in explicit VR
    little or big endian. Returns how many elements became UN."""
    ds = pydicom.dcmread(source)
    count = 0
    replace = pydicom.config.replace_un_with_known_vr
    pydicom.config.replace_un_with_known_vr = False      # write UN as UN
    try:
        count = _replace_with_unknown_vrs(ds, little_endian)
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian if little_endian else ExplicitVRBigEndian
        target.parent.mkdir(parents=True, exist_ok=True)
        dcmwrite(target, ds, enforce_file_format=False, little_endian=little_endian, implicit_vr=False, force_encoding=True)
    finally:
        pydicom.config.replace_un_with_known_vr = replace
    return count


def _replace_with_unknown_vrs(ds, little_endian: bool) -> int:
    count = 0
    for element in list(ds):
        if element.tag.group in (0x0002, 0x7FE0) or element.tag == 0x00080005 or element.tag.is_private \
                or element.VR not in SCANNED_VRS:
            continue
        ds[element.tag] = DataElement(element.tag, "UN", value_bytes(element, little_endian))
        count += 1
    if not little_endian:
        bits = ds.get((0x0028, 0x0100))
        allocated = int.from_bytes(bits.value[:2], "big") if bits is not None else 16
        if allocated > 8:
            ds.PixelData = np.frombuffer(ds.PixelData, f"<u{allocated // 8}").byteswap().tobytes()
    return count


def unknown_copy(folder: Path, target: Path, little_endian: bool) -> Path:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith((".nii", ".json", ".gz")))
    converted = 0
    for path in files:
        converted += with_unknown_vrs(path, target / path.name, little_endian)
    assert converted >= 10 * len(files)
    return target


def geometry(medvol, source) -> dict:
    info = medvol("info", source, "--json").json()
    return {key: info.get(key) for key in ("size", "spacing", "origin", "direction", "pixelType", "seriesNumber",
                                       "seriesDescription", "modality", "valueTransform", "windows")}


def assert_same_volume(medvol, tmp_path, original: Path, unknown: Path):
    assert geometry(medvol, unknown) == geometry(medvol, original)
    medvol("convert", original, tmp_path / "original.npy")
    medvol("convert", unknown, tmp_path / "unknown.npy")
    a, b = np.load(tmp_path / "original.npy"), np.load(tmp_path / "unknown.npy")
    assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("little_endian", [True, False], ids=["little-endian", "big-endian"])
def test_oblique_rescaled_series_sent_as_unknown_vrs(medvol, tmp_path, little_endian):
    row, column = oblique_axes()
    spec = SeriesSpec(values=pattern(5, 12, 16, np.uint16, low=0, span=4000), row=tuple(row), column=tuple(column),
                      slope=0.5, intercept=-1024, spacing=(0.7, 0.9, 2.25), series_number=17, description="UN test")
    write_series(tmp_path / "real", spec)
    unknown = unknown_copy(tmp_path / "real", tmp_path / "unknown", little_endian)
    assert pydicom.dcmread(next(unknown.iterdir()))[0x0020, 0x0032].VR == "DS"   # pydicom replaces UN as well
    assert_same_volume(medvol, tmp_path, tmp_path / "real", unknown)

    # And the values are those pydicom reads from the UN files.
    info = medvol("info", unknown, "--json").json()
    first = min((pydicom.dcmread(p) for p in unknown.iterdir()),
                key=lambda ds: float(np.dot(np.array(ds.ImagePositionPatient, float), spec.normal)))
    assert np.allclose(info["origin"], [float(v) for v in first.ImagePositionPatient], atol=1e-6)
    assert np.allclose(info["spacing"], [float(first.PixelSpacing[1]), float(first.PixelSpacing[0]), 2.25], atol=1e-6)
    assert info["size"] == [int(first.Columns), int(first.Rows), 5]
    volume = np.load(tmp_path / "unknown.npy")
    stored = pattern(5, 12, 16, np.uint16, low=0, span=4000)
    assert np.allclose(volume, stored * 0.5 - 1024)

    # dump reads them the same way, and anonymize keeps the geometry.
    dump = medvol("dump", next(unknown.iterdir())).stdout
    assert "(0020,0032)" in dump and f"{float(first.ImagePositionPatient[0]):g}"[:6] in dump
    medvol("anonymize", unknown, tmp_path / "anon")
    assert geometry(medvol, tmp_path / "anon")["origin"] == info["origin"]


@pytest.mark.parametrize("folder,little_endian", [
    ("dcm_qa_ge/In/01_Ax_DWI_TENSOR_R2", True),
    ("dcm_qa_ge/In/05_3D_Ax_T1_MP_RAGE_R22", False),
    ("dcm_qa_orientation/In/Orientation/ax/axasc35", True),
    ("dcm_qa_orientation/In/Orientation/sag/sagdesc35", False),
])
def test_scanner_series_sent_as_unknown_vrs(medvol, tmp_path, shared_data, folder, little_endian):
    source = shared_data / folder
    real = tmp_path / "real"
    shutil.copytree(source, real, ignore=shutil.ignore_patterns("*.nii", "*.json", "*.gz"))
    unknown = unknown_copy(real, tmp_path / "unknown", little_endian)
    assert_same_volume(medvol, tmp_path, real, unknown)
