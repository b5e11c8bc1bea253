"""DICOM files written with pydicom for the `medvol dump` tests: every kind of value a dump must show —
nested sequences, private blocks (one creator GDCM knows, one it does not), long text, person names with
three component groups in UTF-8, multi-valued numbers, tags, empty values, small and large binary."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
LONG_COMMENT = "".join(f"line {n} of a long comment; " for n in range(12)).strip()   # > 72 characters


def code_item(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def write_rich_file(path: Path, implicit: bool = False) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MR_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "", "MOSAIC"]          # an empty value among several
    ds.SOPClassUID = MR_IMAGE_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyDate = "20240102"
    ds.AccessionNumber = ""                                       # empty
    ds.Modality = "MR"
    ds.StudyDescription = "Brain^Research"
    ds.add_new(0x00089459, "FL", 29.97)                          # Recommended Display Frame Rate in Float
    ds.PatientName = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    ds.PatientID = "PAT-0042"
    ds.OtherPatientNames = ["Doe^John^^Dr", "Roe^Jane"]
    ds.PatientWeight = "72.5"
    ds.FrameIncrementPointer = [0x00181063, 0x00200013]           # AT, two values
    ds.SliceThickness = "1.5"
    ds.AcquisitionMatrix = [0, 64, 64, 0]
    ds.add_new(0x00189089, "FD", [0.5, -0.25, 1e-10])             # Diffusion Gradient Orientation
    ds.ImageComments = LONG_COMMENT                               # LT, abbreviated in the text dump
    ds.InstanceNumber = 7
    ds.ImagePositionPatient = ["-100.5", "20", "3.25e1"]

    first = Dataset()
    first.ReferencedSOPClassUID = MR_IMAGE_STORAGE
    first.ReferencedSOPInstanceUID = generate_uid()
    first.PurposeOfReferenceCodeSequence = [code_item("121311", "DCM", "Localizer")]
    second = Dataset()
    second.ReferencedSOPClassUID = MR_IMAGE_STORAGE
    second.ReferencedSOPInstanceUID = generate_uid()
    ds.ReferencedImageSequence = [first, second]
    ds.AnatomicRegionSequence = []                                 # an empty sequence

    siemens = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    siemens.add_new(0x08, "CS", "IMAGE NUM 4")
    siemens.add_new(0x10, "OB", bytes(range(256)) * 4)            # 1024 bytes: summarised
    acme = ds.private_block(0x0011, "ACME 1.1", create=True)
    acme.add_new(0x01, "LO", "acme value")
    acme.add_new(0x02, "OB", b"\x01\x02\x03\x04")                # short: shown in hexadecimal
    acme.add_new(0x03, "UN", b"abcd")

    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = 4, 4
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = ["40", "-600"]
    ds.WindowWidth = ["400", "1500"]
    ds.PixelData = (np.arange(16, dtype="<u2") * 100).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path
