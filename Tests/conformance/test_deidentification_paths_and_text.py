"""De-identification of paths and free text (issue 12, items 4 and 9).

A PACS export names its folders after the patient (`SMITH^JOHN_1234567/CT/`) and its files after the SOP
Instance UID or the patient's name. `medvol anonymize` must not carry any of that into the output tree, its
warnings or its summary: by default the tree is named from the new identifiers only; with `--keep-names` the
input's names are kept except those that hold an original identifier. And the patient's name planted in every
text element of a file — every standard attribute of a text VR in the data dictionary, a private element,
items of nested sequences (Procedure Code Sequence), overlay description and label — must be gone from the
output bytes.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.datadict import DicomDictionary
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicom_fixtures import SeriesSpec, pattern, write_series

NAME = "SMITH^JOHN"
PATIENT_ID = "1234567"
ACCESSION = "ACC4242"
# What may not appear in any output path, message or byte.
IDENTIFIERS = ["SMITH", "JOHN", PATIENT_ID, ACCESSION]


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def tree_digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def identify(path: Path, **extra):
    ds = pydicom.dcmread(path)
    ds.PatientName = NAME
    ds.PatientID = PATIENT_ID
    ds.AccessionNumber = ACCESSION
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture
def pacs_export(tmp_path):
    """in/SMITH^JOHN_1234567/CT/<SOP Instance UID>.dcm (3 slices), in/SMITH^JOHN_1234567/MR/JOHN_SMITH_<k>.dcm
    (2 slices), in/SMITH^JOHN_1234567/notes-1234567.txt (not DICOM), in/README.txt (not DICOM)."""
    source = tmp_path / "in"
    patient = source / f"{NAME}_{PATIENT_ID}"
    ct_spec = SeriesSpec(values=pattern(3, 6, 5), series_number=2, modality="CT", patient_id=PATIENT_ID)
    ct = write_series(patient / "CT", ct_spec)
    renamed = []
    for path in ct:
        identify(path)
        uid = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
        renamed.append(path.rename(path.parent / f"{uid}.dcm"))
    mr_spec = SeriesSpec(values=pattern(2, 4, 4, dtype=np.uint16, low=0, span=500), series_number=5, modality="MR",
                         patient_id=PATIENT_ID, study_uid=ct_spec.study_uid,
                         file_names=["JOHN_SMITH_1.dcm", "JOHN_SMITH_2.dcm"])
    mr = write_series(patient / "MR", mr_spec)
    for path in mr:
        identify(path)
    (patient / f"notes-{PATIENT_ID}.txt").write_text("not DICOM\n")
    (source / "README.txt").write_text("not DICOM either\n")
    return {"root": tmp_path, "source": source, "ct": renamed, "mr": mr}


def assert_no_identifier(text: str, where: str):
    for value in IDENTIFIERS:
        assert value not in text, f"{where} holds {value!r}: {text}"


def test_default_tree_is_named_from_the_new_identifiers(medvol, pacs_export):
    out = pacs_export["root"] / "out"
    result = medvol("anonymize", pacs_export["source"], out)
    assert tree(out) == [
        "ANON0001", "ANON0001/study-1",
        "ANON0001/study-1/series-2", "ANON0001/study-1/series-2/0001.dcm", "ANON0001/study-1/series-2/0002.dcm",
        "ANON0001/study-1/series-2/0003.dcm",
        "ANON0001/study-1/series-5", "ANON0001/study-1/series-5/0001.dcm", "ANON0001/study-1/series-5/0002.dcm",
    ]
    # The copy named 0002 is the second slice of the CT.
    original = pydicom.dcmread(sorted(pacs_export["ct"], key=lambda p: pydicom.dcmread(p).InstanceNumber)[1])
    copy = pydicom.dcmread(out / "ANON0001/study-1/series-2/0002.dcm")
    assert copy.InstanceNumber == original.InstanceNumber == 2 and copy.PixelData == original.PixelData
    # Warnings and summary: the skipped files are named, their identifying folder is not.
    assert_no_identifier(result.stderr, "stderr")
    lines = result.stderr.strip().splitlines()
    skipped = sorted(line for line in lines if "skipped" in line and line.startswith("medvol: warning: "))
    assert len(skipped) == 2, result.stderr
    assert skipped[0].startswith(f"medvol: warning: {pacs_export['source']}/README.txt: skipped: ")
    assert skipped[1].startswith(f"medvol: warning: {pacs_export['source']}/[redacted]/[redacted]: skipped: ")
    assert lines[-1].startswith(f"medvol: anonymized 5 files into {out}, 2 skipped; ")


def test_the_same_input_gives_the_same_tree_every_run(medvol, pacs_export):
    trees = []
    for run in range(3):
        out = pacs_export["root"] / f"out{run}"
        medvol("anonymize", pacs_export["source"], out)
        trees.append(tree(out))
    assert trees[0] == trees[1] == trees[2] and len(trees[0]) == 9


def test_keep_names_keeps_only_names_without_identifiers(medvol, pacs_export):
    out = pacs_export["root"] / "out"
    result = medvol("anonymize", pacs_export["source"], out, "--keep-names")
    # The patient folder and every file named by a UID or the name are replaced; CT and MR are kept.
    assert tree(out) == [
        "redacted-1", "redacted-1/CT", "redacted-1/CT/redacted-1.dcm", "redacted-1/CT/redacted-2.dcm",
        "redacted-1/CT/redacted-3.dcm", "redacted-1/MR", "redacted-1/MR/redacted-1.dcm", "redacted-1/MR/redacted-2.dcm",
    ]
    uids = {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in pacs_export["ct"]}
    assert_no_identifier(result.stderr, "stderr")
    for uid in uids:
        assert uid not in result.stderr
    # Names are replaced in path order, and the pixels follow their file.
    first = sorted(pacs_export["ct"])[0]
    assert pydicom.dcmread(out / "redacted-1/CT/redacted-1.dcm").PixelData == pydicom.dcmread(first).PixelData


def test_errors_do_not_print_an_identifying_path(medvol, pacs_export):
    broken = pacs_export["ct"][0]
    data = broken.read_bytes()
    broken.write_bytes(data[:400])          # a DICOM file cut inside its header
    out = pacs_export["root"] / "out"
    result = medvol("anonymize", pacs_export["source"], out, check=False)
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"medvol: error: {pacs_export['source']}/[redacted]/CT/[redacted]: "), result.stderr
    assert_no_identifier(result.stderr, "stderr")
    assert not out.exists() and not list(pacs_export["root"].glob(".medvol-partial-*"))


@pytest.mark.parametrize("modality, flag, reason", [
    ("US", None, "modality US often has burned-in text"),
    ("CT", "YES", "Burned In Annotation is YES"),
])
def test_burned_in_annotation_is_never_silent(medvol, tmp_path, modality, flag, reason):
    paths = write_series(tmp_path / "in", SeriesSpec(values=pattern(2, 4, 4), modality=modality, series_number=1))
    for path in paths:
        identify(path, **({"BurnedInAnnotation": flag} if flag else {}))
    out = tmp_path / "out"
    result = medvol("anonymize", tmp_path / "in", out)
    warnings = [line for line in result.stderr.splitlines() if "burned-in" in line]
    assert warnings == [f"medvol: warning: {out}/ANON0001/study-1/series-1/0001.dcm and 1 other file: "
                        f"pixels not checked for burned-in text ({reason}); review them before sharing"]
    for path in sorted(out.rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        assert ds.PatientIdentityRemoved == "YES"
        assert list(ds.DeidentificationMethod) == ["PS3.15 E.1 Basic Application Confidentiality Profile (medvol)",
                                                   "pixels not checked for burned-in annotation"]


def test_burned_in_annotation_no_gives_no_warning(medvol, tmp_path):
    paths = write_series(tmp_path / "in", SeriesSpec(values=pattern(2, 4, 4), modality="US", series_number=1))
    for path in paths:
        identify(path, BurnedInAnnotation="NO")
    result = medvol("anonymize", tmp_path / "in", tmp_path / "out")
    assert "burned-in" not in result.stderr
    ds = pydicom.dcmread(next((tmp_path / "out").rglob("*.dcm")))
    assert ds.DeidentificationMethod == "PS3.15 E.1 Basic Application Confidentiality Profile (medvol)"


# ----------------------------------------------------------------------------------------------------------
# Item 9: the name planted in every text element

TEXT_VRS = {"LO", "SH", "ST", "LT", "UT", "UC", "PN", "CS", "AE", "UR"}
# Attributes the file must keep readable: its character set, and the pixel description it is decoded by.
NOT_PLANTED = {0x00080005, 0x00280004, 0x00020010}


def plant(ds: Dataset, value_for) -> int:
    """Puts the name into every standard non-retired attribute of a text VR (groups 0008–FFFC, no repeating
    groups), returns how many."""
    count = 0
    for tag, (vr, vm, _name, retired, keyword) in DicomDictionary.items():
        if retired or vr not in TEXT_VRS or tag in NOT_PLANTED or (tag >> 16) < 0x0008 or (tag >> 16) >= 0xFFFC:
            continue
        if not keyword or tag in ds:
            continue
        ds.add_new(tag, vr, value_for(vr))
        count += 1
    return count


def name_value(vr: str) -> str:
    return {"PN": NAME, "CS": "SMITH JOHN", "AE": "SMITH JOHN", "SH": "JOHN SMITH", "UR": "http://x/SMITH/JOHN"}.get(vr, "Patient JOHN SMITH, MRN 1234567")


def test_the_name_planted_in_every_text_element_is_gone(medvol, tmp_path):
    paths = write_series(tmp_path / "in", SeriesSpec(values=pattern(1, 4, 4), series_number=1, patient_id=PATIENT_ID))
    ds = pydicom.dcmread(paths[0])
    ds.PatientName = NAME
    planted = plant(ds, name_value)
    # Overlay description and label (repeating group 6000), a private block, nested code sequences.
    ds.add_new(0x60000022, "LO", "overlay of JOHN SMITH")
    ds.add_new(0x60001500, "LO", "SMITH JOHN")
    block = ds.private_block(0x0029, "HOSPITAL NOTES", create=True)
    block.add_new(0x10, "LT", "bed 12, JOHN SMITH")
    code = Dataset()
    code.CodeValue = "CT-JS"
    code.CodingSchemeDesignator = "SMITH"
    code.CodeMeaning = "CT thorax for JOHN SMITH"
    inner = Dataset()
    inner.CodeMeaning = "nested JOHN"
    inner.CodeValue = "1"
    inner.CodingSchemeDesignator = "99JOHN"
    code.ConceptNameCodeSequence = Sequence([inner])
    ds.ProcedureCodeSequence = Sequence([code])
    ds.RequestAttributesSequence = Sequence([Dataset()])
    ds.RequestAttributesSequence[0].ScheduledProcedureStepDescription = "JOHN SMITH pre-op"
    ds.RequestAttributesSequence[0].RequestedProcedureDescription = "for SMITH"
    ds.save_as(paths[0], enforce_file_format=True)
    assert planted > 1300
    assert pydicom.dcmread(paths[0]).ProcedureCodeSequence[0].CodeMeaning == "CT thorax for JOHN SMITH"

    out = tmp_path / "out.dcm"
    medvol("anonymize", paths[0], out)
    raw = out.read_bytes()
    for value in (b"SMITH", b"JOHN", PATIENT_ID.encode()):
        assert value not in raw and value.lower() not in raw, f"{value!r} survives at byte {raw.find(value)}"
    copy = pydicom.dcmread(out)
    assert copy.PatientIdentityRemoved == "YES"
    assert copy.PixelData == pydicom.dcmread(paths[0]).PixelData
    # The geometry survives: the numbers were not names.
    assert [float(v) for v in copy.ImagePositionPatient] == [float(v) for v in pydicom.dcmread(paths[0]).ImagePositionPatient]
