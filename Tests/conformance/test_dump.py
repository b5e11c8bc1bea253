"""`medvol dump FILE [--json] [--grep TEXT]` against pydicom's view of the same files.

The text listing must hold the same elements as pydicom's dataset walk (same tags, nesting, VRs and values);
`--json` must follow the DICOM JSON model (PS3.18 Annex F) and agree with `Dataset.to_json_dict()` for every
element both produce. Real Siemens (mosaic, CSA header) and GE files from ../shared/data, and files written by
pydicom with sequences, private blocks, long values and person names.
"""
from __future__ import annotations

import base64
import math
import re
import urllib.parse
from pathlib import Path

import pydicom
import pytest

from dump_fixtures import LONG_COMMENT, write_rich_file

LINE = re.compile(r"^(?P<indent> *)\((?P<group>[0-9A-F]{4}),(?P<element>[0-9A-F]{4})\) (?P<name>.+?)  +(?P<vr>[A-Z]{2})  (?P<value>.*)$")
ITEM = re.compile(r"^(?P<indent> *)> item (?P<n>\d+) of (?P<m>\d+)$")
TEXT_VRS = {"AE", "AS", "CS", "DA", "DT", "LO", "LT", "SH", "ST", "TM", "UC", "UI", "UR", "UT", "PN"}
BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}
NUMBER_VRS = {"US", "SS", "UL", "SL", "SV", "UV", "FL", "FD", "DS", "IS"}
PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}


def siemens_mosaic(shared_data) -> Path:
    folder = shared_data / "dcm_qa_orientation" / "In" / "Orientation" / "ax" / "axasc35"
    return sorted(p for p in folder.iterdir() if p.name.startswith("MR."))[0]


def ge_file(shared_data) -> Path:
    return shared_data / "dcm_qa_ge" / "In" / "01_Ax_DWI_TENSOR_R2" / "i22.MRDC.1"


def parse_dump(text: str) -> list[dict]:
    """Element lines of a text dump as dicts (depth, tag, name, vr, value); item lines are checked too."""
    entries = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = LINE.match(line)
        if match:
            entries.append({"depth": len(match["indent"]) // 4, "tag": int(match["group"] + match["element"], 16),
                            "name": match["name"], "vr": match["vr"], "value": match["value"]})
            continue
        assert ITEM.match(line), f"unexpected line in dump: {line!r}"
    return entries


def walk(ds, depth=0):
    """pydicom's elements in listing order: file meta is walked separately."""
    for elem in ds:
        yield depth, elem
        if elem.VR == "SQ":
            for item in elem.value:
                yield from walk(item, depth + 1)


def pydicom_elements(path: Path) -> list[tuple[int, object]]:
    ds = pydicom.dcmread(path)
    return list(walk(ds.file_meta)) + list(walk(ds))


def values_of(elem) -> list:
    value = elem.value
    if value is None or value == "" or value == b"":
        return []
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        return list(value)
    return [value]


def close(a, b) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-12)


def check_value(shown: str, elem) -> None:
    """The text dump's value of one element against pydicom's."""
    vr = elem.VR
    if elem.tag in PIXEL_TAGS:
        assert "pixel data" in shown or "encapsulated" in shown, shown
        return
    if vr == "SQ":
        count = len(elem.value)
        assert shown == ("1 item" if count == 1 else f"{count} items"), (elem.tag, shown)
        return
    if elem.is_empty:
        assert shown == "(no value)", (elem.tag, shown)
        return
    if vr in TEXT_VRS or (vr in ("DS", "IS") and shown.startswith("[")):
        # (Decimal and integer strings that are not numbers are shown as text.)
        expected = "\\".join(str(v) for v in values_of(elem))
        match = re.match(r"^\[(?P<text>.*?)(?P<cut>…)?\](?: \((?P<count>\d+) characters\))?(?: .*)?$", shown)
        assert match, (elem.tag, shown)
        text = match["text"]
        expected = expected.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        if match["cut"]:
            full = "\\".join(str(v) for v in values_of(elem))
            assert expected.startswith(text) and int(match["count"]) == len(full), (elem.tag, shown, expected)
        else:
            assert text == expected, (elem.tag, shown, expected)
        return
    if vr in BINARY_VRS:
        data = elem.value
        if len(data) > 16:
            assert shown == f"{len(data)} bytes", (elem.tag, shown)
        elif vr in ("OB", "UN"):
            assert bytes.fromhex(shown.replace("\\", "")) == data, (elem.tag, shown)
        return
    if vr == "AT":
        expected = "\\".join(f"({int(t) >> 16:04X},{int(t) & 0xFFFF:04X})" for t in values_of(elem))
        assert shown == expected, (elem.tag, shown, expected)
        return
    if vr in NUMBER_VRS:
        expected = values_of(elem)
        parts = shown.split("\\")
        if parts[-1].startswith("…"):
            count = int(re.match(r"… \((\d+) values\)", parts[-1])[1])
            assert count == len(expected), (elem.tag, shown)
            parts = parts[:-1]
        else:
            assert len(parts) == len(expected), (elem.tag, shown, expected)
        for text, value in zip(parts, expected):
            assert close(text, value), (elem.tag, shown, expected)
        return
    raise AssertionError(f"VR {vr} of {elem.tag} not checked")


def assert_dump_matches_pydicom(medvol, path: Path) -> list[dict]:
    listed = parse_dump(medvol("dump", path).stdout)
    expected = pydicom_elements(path)
    assert [(e["depth"], e["tag"]) for e in listed] == [(d, int(elem.tag)) for d, elem in expected], "element set differs"
    for entry, (_, elem) in zip(listed, expected):
        if elem.VR not in ("UN",) and not elem.VR.startswith(("US or", "OB or")):
            assert entry["vr"] == elem.VR, (elem.tag, entry["vr"], elem.VR)
        check_value(entry["value"], elem)
    return listed


# MARK: Text listing

def test_siemens_mosaic_dump_names_the_csa_header(medvol, shared_data):
    path = siemens_mosaic(shared_data)
    text = medvol("dump", path).stdout
    lines = text.splitlines()
    assert lines[0] == f"# {path}"
    assert lines[1] == "# File Meta Information"
    data_set = lines.index("# Data Set: Explicit VR Little Endian")
    assert all(line.startswith("(0002,") for line in lines[2:data_set]), "file meta group first"
    by_tag = {e["tag"]: e for e in parse_dump(text) if e["depth"] == 0}
    assert by_tag[0x00290010]["name"] == "Private Creator" and by_tag[0x00290010]["value"] == "[SIEMENS CSA HEADER]"
    assert by_tag[0x00291010]["name"] == "[CSA Image Header Info]" and by_tag[0x00291010]["value"] == "10932 bytes"
    assert by_tag[0x00291020]["name"] == "[CSA Series Header Info]" and by_tag[0x00291020]["value"] == "74352 bytes"
    assert by_tag[0x0019100A]["name"] == "[NumberOfImagesInMosaic]" and by_tag[0x0019100A]["value"] == "35"
    assert by_tag[0x00020010]["value"] == "[1.2.840.10008.1.2.1] Explicit VR Little Endian"
    assert by_tag[0x7FE00010]["value"].startswith("294912 bytes of pixel data, 1 frame of 384×384")
    # The Referenced Image Sequence, its three items and their elements one level in.
    start = next(i for i, line in enumerate(lines) if line.startswith("(0008,1140)"))
    assert lines[start].split()[-2:] == ["3", "items"]
    assert lines[start + 1] == "  > item 1 of 3"
    assert lines[start + 2].startswith("    (0008,1150) Referenced SOP Class UID")
    assert lines[start + 4] == "  > item 2 of 3"
    assert max(len(line) for line in lines) < 250, "no value is printed in full when long"


@pytest.mark.parametrize("which", ["siemens", "ge"])
def test_real_file_dump_matches_pydicom(medvol, shared_data, which):
    path = siemens_mosaic(shared_data) if which == "siemens" else ge_file(shared_data)
    listed = assert_dump_matches_pydicom(medvol, path)
    assert len(listed) > 100


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_generated_file_dump_matches_pydicom(medvol, tmp_path, implicit):
    path = write_rich_file(tmp_path / "rich.dcm", implicit=implicit)
    listed = assert_dump_matches_pydicom(medvol, path)
    names = {e["tag"]: e for e in listed if e["depth"] == 0}
    assert names[0x00291008]["name"] == "[CSA Image Header Type]" and names[0x00291008]["vr"] == "CS"
    assert names[0x00291010]["value"] == "1024 bytes"
    assert names[0x00111001]["name"] == "Private tag (ACME 1.1)"
    assert names[0x00111002]["value"] == "01\\02\\03\\04"
    assert names[0x00100010]["value"] == "[Yamada^Tarou=山田^太郎=やまだ^たろう]"
    assert names[0x00080008]["value"] == "[ORIGINAL\\PRIMARY\\\\MOSAIC]"
    assert names[0x00204000]["value"].endswith(f"…] ({len(LONG_COMMENT)} characters)")
    assert names[0x00080050]["value"] == "(no value)"
    assert names[0x00082218]["value"] == "0 items"
    assert names[0x00280009]["value"] == "(0018,1063)\\(0020,0013)"
    nested = [e for e in listed if e["depth"] == 2]
    assert [e["tag"] for e in nested] == [0x00080100, 0x00080102, 0x00080104], "code sequence inside an item"
    if implicit:
        # Implicit VR: the private elements GDCM knows get their dictionary VR, the others stay UN.
        assert names[0x00111001]["vr"] == "UN"


def test_grep_keeps_matching_elements_like_pydicom_dir(medvol, shared_data):
    path = siemens_mosaic(shared_data)
    ds = pydicom.dcmread(path)
    listed = parse_dump(medvol("dump", path, "--grep", "PAT").stdout)
    public = {pydicom.datadict.keyword_for_tag(e["tag"]) for e in listed if e["tag"] >> 16 & 1 == 0}
    assert public == set(ds.dir("pat"))
    private = [e for e in listed if e["tag"] >> 16 & 1]
    assert all("pat" in e["name"].lower() for e in private), private


def test_grep_keeps_the_sequences_around_nested_matches(medvol, tmp_path):
    path = write_rich_file(tmp_path / "rich.dcm")
    text = medvol("dump", path, "--grep", "codemeaning").stdout
    listed = parse_dump(text)
    assert [(e["depth"], e["tag"]) for e in listed] == [(0, 0x00081140), (1, 0x0040A170), (2, 0x00080104)]
    assert "  > item 1 of 2" in text.splitlines() and "  > item 2 of 2" not in text.splitlines()
    # A sequence that matches by its own name is listed whole.
    whole = parse_dump(medvol("dump", path, "--grep", "referencedimage").stdout)
    assert len(whole) == 1 + 2 * 2 + 1 + 3


def test_dump_refuses_what_is_not_dicom(medvol, tmp_path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello, this is not DICOM\n" * 10)
    result = medvol("dump", text_file, check=False)
    assert result.returncode == 1 and result.stderr.startswith(f"medvol: error: {text_file}: "), result
    missing = medvol("dump", tmp_path / "missing.dcm", check=False)
    assert missing.returncode == 1 and "no such file" in missing.stderr
    assert medvol("dump", check=False).returncode == 2


# MARK: JSON model

HEX_KEY = re.compile(r"^[0-9A-F]{8}$")
VRS = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW",
       "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"}


def check_model(data_set: dict) -> None:
    """PS3.18 F.2: keys, "vr", exactly one of Value / InlineBinary / BulkDataURI (or none when empty), value types."""
    for key, element in data_set.items():
        assert HEX_KEY.match(key), key
        assert element["vr"] in VRS, (key, element)
        assert set(element) <= {"vr", "Value", "InlineBinary", "BulkDataURI"}, (key, element)
        assert len(set(element) & {"Value", "InlineBinary", "BulkDataURI"}) <= 1, (key, element)
        vr = element["vr"]
        if "InlineBinary" in element:
            assert vr in BINARY_VRS, (key, vr)
            base64.b64decode(element["InlineBinary"], validate=True)
        if "Value" not in element:
            continue
        values = element["Value"]
        assert isinstance(values, list) and values, (key, element)
        for value in values:
            if value is None:
                continue
            if vr == "SQ":
                assert isinstance(value, dict)
                check_model(value)
            elif vr == "PN":
                assert isinstance(value, dict) and set(value) <= {"Alphabetic", "Ideographic", "Phonetic"}, value
            elif vr in ("IS", "US", "SS", "UL", "SL", "SV", "UV"):
                assert isinstance(value, int), (key, value)
            elif vr in ("DS", "FL", "FD"):
                # A decimal string that is not a number stays text (pydicom refuses such elements).
                assert isinstance(value, (int, float)) or not is_number(value), (key, value)
            elif vr == "AT":
                assert isinstance(value, str) and HEX_KEY.match(value), (key, value)
            else:
                assert isinstance(value, str), (key, value)


def is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def normalised(element: dict) -> dict:
    """Makes pydicom's and medvol's spellings of the same thing equal: "" and {"Alphabetic": ""} are null
    (PS3.18 F.2.5), an empty sequence has no Value."""
    out = {"vr": element["vr"]}
    if element.get("Value"):
        values = []
        for value in element["Value"]:
            if isinstance(value, dict) and element["vr"] == "PN":
                value = {k: v for k, v in value.items() if v} or None
            elif isinstance(value, dict):
                value = {k: normalised(v) for k, v in value.items()}
            elif value == "":
                value = None
            values.append(value)
        out["Value"] = values
    for key in ("InlineBinary", "BulkDataURI"):
        if key in element:
            out[key] = element[key]
    return out


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def assert_json_matches_pydicom(medvol, path: Path) -> dict:
    model = medvol("dump", path, "--json").json()
    check_model(model)
    ds = pydicom.dcmread(path)
    expected = ds.file_meta.to_json_dict()
    expected.update(ds.to_json_dict(suppress_invalid_tags=True))   # pydicom drops values it cannot convert
    dropped = set(model) - set(expected)
    for key in dropped:
        assert not pydicom.dataelem.DataElement.is_empty.fget(ds[int(key, 16)]), key
    assert set(expected) <= set(model)
    for key, element in expected.items():
        if int(key, 16) in PIXEL_TAGS:
            continue
        mine, theirs = normalised(model[key]), normalised(element)
        assert same(mine, theirs), (key, mine, theirs)
    return model


@pytest.mark.parametrize("which", ["siemens", "ge"])
def test_real_file_json_matches_pydicom(medvol, shared_data, which):
    path = siemens_mosaic(shared_data) if which == "siemens" else ge_file(shared_data)
    assert_json_matches_pydicom(medvol, path)


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_generated_file_json_matches_pydicom(medvol, tmp_path, implicit):
    path = write_rich_file(tmp_path / "rich.dcm", implicit=implicit)
    model = assert_json_matches_pydicom(medvol, path)
    assert model["00100010"]["Value"] == [{"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}]
    assert model["00080008"]["Value"] == ["ORIGINAL", "PRIMARY", None, "MOSAIC"]
    assert model["00204000"]["Value"] == [LONG_COMMENT]
    assert model["00180050"]["Value"] == [1.5] and model["00200013"]["Value"] == [7]
    assert model["00280009"]["Value"] == ["00181063", "00200013"]
    assert "Value" not in model["00080050"] and "Value" not in model["00082218"]
    assert base64.b64decode(model["00291010"]["InlineBinary"]) == bytes(range(256)) * 4
    assert model["00081140"]["Value"][0]["0040A170"]["Value"][0]["00080104"]["Value"] == ["Localizer"]


def test_pixel_data_is_a_bulk_data_uri_to_the_bytes(medvol, tmp_path, shared_data):
    path = write_rich_file(tmp_path / "rich.dcm")
    for source in (path, siemens_mosaic(shared_data)):
        uri = medvol("dump", source, "--json").json()["7FE00010"]["BulkDataURI"]
        parsed = urllib.parse.urlparse(uri)
        assert parsed.scheme == "file" and Path(urllib.parse.unquote(parsed.path)).resolve() == Path(source).resolve()
        query = dict(urllib.parse.parse_qsl(parsed.query))
        data = Path(source).read_bytes()[int(query["offset"]):int(query["offset"]) + int(query["length"])]
        assert data == pydicom.dcmread(source).PixelData


def test_encapsulated_pixel_data_uri_spans_the_fragments(medvol, shared_data):
    path = shared_data / "dcm_qa_orientation" / "In" / "Orientation" / "axmb" / "AxAsc36mb2a" / "jpg1.dcm"
    text = medvol("dump", path, "--grep", "pixel data").stdout
    assert "encapsulated JPEG Lossless" in text and "1 fragment" in text
    uri = medvol("dump", path, "--json").json()["7FE00010"]["BulkDataURI"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(uri).query))
    data = path.read_bytes()[int(query["offset"]):int(query["offset"]) + int(query["length"])]
    # From the basic offset table item to the sequence delimiter: pydicom's PixelData and the delimiter.
    assert data[-8:] == b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    assert data[:-8] == pydicom.dcmread(path).PixelData


def test_json_grep_filters_too(medvol, tmp_path):
    path = write_rich_file(tmp_path / "rich.dcm")
    model = medvol("dump", path, "--json", "--grep", "patient").json()
    # Keyword or name: "Image Position (Patient)" is ImagePositionPatient.
    assert set(model) == {"00100010", "00100020", "00101001", "00101030", "00200032"}
