"""`medvol anonymize INPUT OUTPUT` against pydicom, SimpleITK and the raw bytes.

A study written with pydicom carries identifying values everywhere a real one does — patient, institution,
physicians, operators, free-text comments, dates, a private block, a nested sequence, references between
files — in an uncompressed oblique CT series and an RLE-compressed MR series, beside a text file. After
de-identification none of those values (nor any original instance UID) may appear in any element of any
output file, at any depth, nor anywhere in the output bytes; the volumes must read back identical in medvol
and SimpleITK; the stacks must be the same; references must point at the remapped UIDs.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import RLELossless

from dicom_fixtures import SeriesSpec, oblique_axes, pattern, write_series
from oracles import assert_same_image, load_npy_with_sidecar, sitk_series

# Every identifying value put into the input; none may survive.
PHI = {
    "PatientName": "Doe^Johanna^Q",
    "PatientID": "MRN-7731-XQ",
    "PatientBirthDate": "19710304",
    "PatientAddress": "12 Rue des Acacias Lyon",
    "InstitutionName": "Hopital Saint-Exemple",
    "InstitutionAddress": "99 Boulevard Imaginaire",
    "StationName": "CTSCAN-ROOM7",
    "OperatorsName": "Tech^Operator^Zed",
    "ReferringPhysicianName": "Referrer^Paula",
    "PerformingPhysicianName": "Performer^Igor",
    "AccessionNumber": "ACC99887766",
    "StudyID": "STUDY-4455",
    "StudyDescription": "Thorax for Johanna follow-up",
    "ImageComments": "patient very anxious, call husband Marcel",
    "PatientComments": "allergic to iodine per Dr Quentin",
    "OtherPatientID": "OTHER-ID-31337",
    "PrivateText": "PRIVATE-NOTE-Johanna-bed-12",
    "NestedName": "Nested^Nurse^Yvette",
    "StudyDate": "20230517",
    "SeriesDate": "20230518",
    "AcquisitionDate": "20230519",
    "ContentDate": "20230520",
    "InstanceCreationDate": "20230521",
    "StudyTime": "101112",
    "AcquisitionDateTime": "20230519131415",
}
CLASS_UIDS = {"1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4"}


def add_identifying_attributes(path: Path, instance: int, references: dict):
    ds = pydicom.dcmread(path)
    ds.PatientName = PHI["PatientName"]
    ds.PatientID = PHI["PatientID"]
    ds.PatientBirthDate = PHI["PatientBirthDate"]
    ds.PatientAddress = PHI["PatientAddress"]
    ds.InstitutionName = PHI["InstitutionName"]
    ds.InstitutionAddress = PHI["InstitutionAddress"]
    ds.StationName = PHI["StationName"]
    ds.OperatorsName = PHI["OperatorsName"]
    ds.ReferringPhysicianName = PHI["ReferringPhysicianName"]
    ds.PerformingPhysicianName = PHI["PerformingPhysicianName"]
    ds.AccessionNumber = PHI["AccessionNumber"]
    ds.StudyID = PHI["StudyID"]
    ds.StudyDescription = PHI["StudyDescription"]
    ds.ImageComments = PHI["ImageComments"]
    ds.PatientComments = PHI["PatientComments"]
    ds.StudyDate = PHI["StudyDate"]
    ds.SeriesDate = PHI["SeriesDate"]
    ds.AcquisitionDate = PHI["AcquisitionDate"]
    ds.ContentDate = PHI["ContentDate"]
    ds.InstanceCreationDate = PHI["InstanceCreationDate"]
    ds.StudyTime = PHI["StudyTime"]
    ds.AcquisitionDateTime = PHI["AcquisitionDateTime"]
    other = Dataset()
    other.PatientID = PHI["OtherPatientID"]
    ds.OtherPatientIDsSequence = Sequence([other])
    # A private block.
    block = ds.private_block(0x0011, "ACME PHI STORE", create=True)
    block.add_new(0x01, "LO", PHI["PrivateText"])
    # A sequence the table does not name, holding attributes it does: they must be cleaned inside it,
    # and the series UID inside it must map to the same new UID as the top-level one.
    referenced_series = Dataset()
    referenced_series.SeriesInstanceUID = ds.SeriesInstanceUID
    referenced_series.PerformingPhysicianName = PHI["NestedName"]
    referenced_series.StudyDate = PHI["StudyDate"]
    ds.ReferencedSeriesSequence = Sequence([referenced_series])
    # A reference to the previous image of the series (X/Z/U*: kept, UIDs remapped).
    if instance > 1:
        item = Dataset()
        item.ReferencedSOPClassUID = ds.SOPClassUID
        item.ReferencedSOPInstanceUID = references[instance - 1]
        ds.ReferencedImageSequence = Sequence([item])
    ds.save_as(path, enforce_file_format=True)


def walk(dataset, path=""):
    """Every element at every depth (file meta included), with a dotted path."""
    if getattr(dataset, "file_meta", None) is not None:
        for element in dataset.file_meta:
            yield f"meta.{element.keyword or element.tag}", element
    for element in dataset:
        where = f"{path}{element.keyword or element.tag}"
        yield where, element
        if element.VR == "SQ":
            for index, item in enumerate(element.value):
                yield from walk(item, f"{where}[{index}].")


def text_of(element) -> str:
    if element.tag in (0x7FE00010, 0x7FE00008, 0x7FE00009):
        return ""
    value = element.value
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, pydicom.multival.MultiValue)):
        return "\\".join(str(v) for v in value)
    return str(value)


def tree_digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """in/ct (oblique CT, 6 slices, uncompressed), in/mr/deeper (RLE MR, 4 slices), in/notes.txt."""
    root = tmp_path_factory.mktemp("anon")
    source = root / "in"
    row, column = oblique_axes()
    ct_spec = SeriesSpec(values=pattern(6, 12, 10), spacing=(0.7, 0.9, 2.0), origin=(-31.5, 18.25, 77.0), row=row, column=column,
                         modality="CT", series_number=3, description="Thorax for Johanna")
    ct_paths = write_series(source / "ct", ct_spec)
    mr_spec = SeriesSpec(values=pattern(4, 8, 9, dtype=np.uint16, low=0, span=900), modality="MR", series_number=7,
                         description="MR for Johanna", study_uid=ct_spec.study_uid, frame_of_reference_uid=ct_spec.frame_of_reference_uid)
    mr_paths = write_series(source / "mr" / "deeper", mr_spec)
    for paths in (ct_paths, mr_paths):
        uids = {k + 1: pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for k, p in enumerate(paths)}
        for k, p in enumerate(paths):
            add_identifying_attributes(p, k + 1, uids)
    for p in mr_paths:
        ds = pydicom.dcmread(p)
        ds.compress(RLELossless, generate_instance_uid=False)
        ds.save_as(p, enforce_file_format=True)
    (source / "notes.txt").write_text(f"not DICOM, about {PHI['PatientName']}\n")
    original_uids = set()
    for p in ct_paths + mr_paths:
        for _, element in walk(pydicom.dcmread(p)):
            if element.VR == "UI" and element.value:
                values = element.value if isinstance(element.value, (list, pydicom.multival.MultiValue)) else [element.value]
                original_uids |= {str(v) for v in values} - CLASS_UIDS - {"1.2.840.10008.1.2.1", "1.2.840.10008.1.2.5"}
    original_uids = {u for u in original_uids if not u.startswith("1.2.840.10008.")}
    original_uids -= {pydicom.dcmread(ct_paths[0]).file_meta.ImplementationClassUID}
    return {"root": root, "source": source, "ct": ct_paths, "mr": mr_paths, "uids": original_uids,
            "ct_spec": ct_spec, "mr_spec": mr_spec}


@pytest.fixture(scope="module")
def anonymized(study, tmp_path_factory):
    from conftest import run_medvol
    before = tree_digest(study["source"])
    out = study["root"] / "out"
    mapping = study["root"] / "mapping.json"
    result = run_medvol("anonymize", study["source"], out, "--mapping", mapping)
    assert tree_digest(study["source"]) == before, "the input was modified"
    return {"out": out, "mapping": json.loads(mapping.read_text()), "result": result}


def output_of(anonymized, original: Path) -> Path:
    """Where the de-identified copy of `original` is: PSEUDONYM/study-N/series-S/IIII.dcm (the one patient, the
    one study; series by Series Number, files by Instance Number)."""
    ds = pydicom.dcmread(original, stop_before_pixels=True)
    return anonymized["out"] / "ANON0001" / "study-1" / f"series-{int(ds.SeriesNumber)}" / f"{int(ds.InstanceNumber):04d}.dcm"


def output_files(anonymized):
    return sorted(p for p in anonymized["out"].rglob("*") if p.is_file())


def test_output_tree_is_named_from_the_new_identifiers_and_reports_the_skipped_file(study, anonymized):
    expected = sorted(str(output_of(anonymized, p).relative_to(anonymized["out"])) for p in study["ct"] + study["mr"])
    assert expected[0] == "ANON0001/study-1/series-3/0001.dcm" and expected[-1] == "ANON0001/study-1/series-7/0004.dcm"
    assert sorted(str(p.relative_to(anonymized["out"])) for p in output_files(anonymized)) == expected
    assert "notes.txt" in anonymized["result"].stderr and "skipped" in anonymized["result"].stderr
    assert not list(study["root"].glob(".medvol-partial-*")), "staging folder left behind"


def test_no_identifying_value_survives_anywhere(study, anonymized):
    forbidden = list(PHI.values()) + sorted(study["uids"])
    # Pieces of names that could survive a careless rewrite.
    forbidden += ["Johanna", "Doe", "Marcel", "Quentin", "Yvette", "ACME PHI STORE"]
    assert len(study["uids"]) >= 4 * 2 + 3
    for path in output_files(anonymized):
        dataset = pydicom.dcmread(path)
        elements = list(walk(dataset))
        assert len(elements) > 30
        for where, element in elements:
            assert not element.tag.is_private, f"{path.name}: private element {where} kept"
            text = text_of(element)
            for value in forbidden:
                assert value not in text, f"{path.name}: {where} still holds {value!r}"
        raw = path.read_bytes()
        for value in forbidden:
            assert value.encode() not in raw, f"{path.name}: the bytes still hold {value!r}"


def test_attributes_get_their_basic_profile_actions(study, anonymized):
    for path in output_files(anonymized):
        ds = pydicom.dcmread(path)
        assert ds.PatientIdentityRemoved == "YES"
        assert "PS3.15" in ds.DeidentificationMethod
        assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
        # Z: present, empty.
        assert ds.PatientName == "" and ds.AccessionNumber == "" and ds.StudyID == "" and ds.PatientBirthDate == ""
        # X: removed.
        for keyword in ("PatientAddress", "InstitutionAddress", "PerformingPhysicianName", "StudyDescription",
                        "SeriesDescription", "ImageComments", "PatientComments", "OtherPatientIDsSequence"):
            assert keyword not in ds, keyword
        # X/Z/D → D: a dummy.
        assert ds.InstitutionName == "ANONYMIZED" and ds.StationName == "ANONYMIZED" and ds.OperatorsName == "ANONYMIZED"
        # Z/D → D: the same pseudonym for the one patient.
        assert ds.PatientID == "ANON0001"
        # Dates and times: the fixed dummies, everywhere, nested ones included.
        for where, element in walk(ds):
            if element.VR == "DA" and element.value:
                assert element.value == "19000101", where
            if element.VR == "TM" and element.value:
                assert element.value == "000000", where
            if element.VR == "DT" and element.value:
                assert element.value == "19000101000000", where
        nested = ds.ReferencedSeriesSequence[0]
        assert "PerformingPhysicianName" not in nested and nested.StudyDate == "19000101"


def test_uids_are_new_consistent_and_match_the_file_meta(study, anonymized):
    mapping = anonymized["mapping"]["uids"]
    assert set(mapping) == study["uids"], "the mapping lists exactly the original instance UIDs"
    assert len(set(mapping.values())) == len(mapping), "two originals share a new UID"
    assert anonymized["mapping"]["patientIDs"] == {PHI["PatientID"]: "ANON0001"}
    for group, spec in (("ct", study["ct_spec"]), ("mr", study["mr_spec"])):
        originals = [pydicom.dcmread(p, stop_before_pixels=True) for p in study[group]]
        outputs = [pydicom.dcmread(output_of(anonymized, p)) for p in study[group]]
        new_by_instance = {}
        for original, output in zip(originals, outputs):
            for keyword in ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "FrameOfReferenceUID"):
                new = getattr(output, keyword)
                assert new.startswith("2.25.") and new == mapping[getattr(original, keyword)], keyword
            assert output.file_meta.MediaStorageSOPInstanceUID == output.SOPInstanceUID
            assert output.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
            assert output.SOPClassUID == original.SOPClassUID
            assert output.ReferencedSeriesSequence[0].SeriesInstanceUID == output.SeriesInstanceUID
            new_by_instance[int(output.InstanceNumber)] = output.SOPInstanceUID
        assert len({o.SeriesInstanceUID for o in outputs}) == 1
        # References inside sequences resolve to the remapped instance of the other file.
        for output in outputs:
            instance = int(output.InstanceNumber)
            if instance > 1:
                item = output.ReferencedImageSequence[0]
                assert item.ReferencedSOPInstanceUID == new_by_instance[instance - 1]
                assert item.ReferencedSOPClassUID == output.SOPClassUID
    ct = pydicom.dcmread(output_of(anonymized, study["ct"][0]))
    mr = pydicom.dcmread(output_of(anonymized, study["mr"][0]))
    assert ct.StudyInstanceUID == mr.StudyInstanceUID and ct.FrameOfReferenceUID == mr.FrameOfReferenceUID
    assert ct.SeriesInstanceUID != mr.SeriesInstanceUID


def test_pixel_data_are_copied_byte_for_byte(study, anonymized):
    for path in study["ct"] + study["mr"]:
        original = pydicom.dcmread(path)
        output = pydicom.dcmread(output_of(anonymized, path))
        assert output.PixelData == original.PixelData, path.name
        for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns",
                        "BitsAllocated", "PixelRepresentation", "InstanceNumber"):
            assert getattr(output, keyword) == getattr(original, keyword), keyword
    assert pydicom.dcmread(output_of(anonymized, study["mr"][0])).file_meta.TransferSyntaxUID == RLELossless


@pytest.mark.parametrize("group", ["ct", "mr"])
def test_volumes_read_back_identical_in_medvol_and_simpleitk(medvol, study, anonymized, tmp_path, group):
    source_folder = study[group][0].parent
    output_folder = output_of(anonymized, sorted(source_folder.glob("*"))[0]).parent
    medvol("convert", source_folder, tmp_path / "before.npy")
    medvol("convert", output_folder, tmp_path / "after.npy")
    before, before_geometry = load_npy_with_sidecar(tmp_path / "before.npy")
    after, after_geometry = load_npy_with_sidecar(tmp_path / "after.npy")
    assert np.array_equal(before, after)
    for key in ("size", "spacing", "origin", "direction"):
        assert np.allclose(before_geometry[key], after_geometry[key], atol=1e-9), key
    expected = sitk_series(sorted(study[group], key=lambda p: p.name))
    actual = sitk_series([output_of(anonymized, p) for p in sorted(study[group], key=lambda p: p.name)])
    assert_same_image(actual, expected, f"{group} through SimpleITK")
    assert np.array_equal(sitk.GetArrayFromImage(actual), after)


def test_the_same_stacks_are_found(medvol, study, anonymized):
    before = medvol("series", study["source"], "--json").json()
    after = medvol("series", anonymized["out"], "--json").json()
    describe = lambda listing: sorted((s["seriesNumber"], s["modality"], s["imageCount"], tuple(s["size"])) for s in listing["stacks"])
    assert describe(before) == describe(after) and len(after["stacks"]) == 2
    assert [s["path"] for s in before["skipped"]] and after["skipped"] == []


def test_a_single_file(medvol, study, tmp_path):
    source = study["ct"][2]
    out = tmp_path / "one.dcm"
    medvol("anonymize", source, out)
    ds = pydicom.dcmread(out)
    assert ds.PatientIdentityRemoved == "YES" and ds.PixelData == pydicom.dcmread(source).PixelData
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.dcm"], "no mapping unless asked"


def test_existing_output_is_refused_unless_overwrite(medvol, study, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    refused = medvol("anonymize", study["source"] / "ct", out, check=False)
    assert refused.returncode == 1 and refused.stderr.startswith(f"medvol: error: {out}: ")
    assert (out / "keep.txt").read_text() == "mine"
    medvol("anonymize", study["source"] / "ct", out, "--overwrite")
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.dcm")) == [f"ANON0001/study-1/series-3/{k:04d}.dcm" for k in range(1, 7)]


def test_failures_leave_no_output(medvol, study, tmp_path):
    missing = medvol("anonymize", tmp_path / "nope", tmp_path / "out", check=False)
    assert missing.returncode == 1 and "no such file" in missing.stderr and not (tmp_path / "out").exists()
    inside = medvol("anonymize", study["source"], study["source"] / "anon", check=False)
    assert inside.returncode == 1 and "inside the input" in inside.stderr and not (study["source"] / "anon").exists()
    # A damaged DICOM file among good ones: nothing at all is written.
    broken = tmp_path / "broken"
    broken.mkdir()
    for p in study["ct"][:3]:
        (broken / p.name).write_bytes(p.read_bytes())
    whole = study["ct"][3].read_bytes()
    (broken / "bad.dcm").write_bytes(whole[:len(whole) - 50])    # pixel data cut short
    failed = medvol("anonymize", broken, tmp_path / "out", check=False)
    assert failed.returncode == 1 and "bad.dcm" in failed.stderr, failed
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".medvol-partial-*"))
    usage = medvol("anonymize", study["source"], check=False)
    assert usage.returncode == 2
