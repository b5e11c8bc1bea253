"""Encapsulated pixel data that cannot be decoded, found from headers alone (issue 10, item 5).

Each damaged file is made from a good one that pydicom decodes, by changing only its pixel data items:
a frame cut short (inside the codestream's headers, or before its end), a missing start marker, a
codestream of the wrong family, no fragment at all, and a multi-frame file with fewer fragments than
frames — for JPEG baseline, JPEG lossless, JPEG-LS and JPEG 2000. medvol must name the file and the
reason in `info` (exit 1), list it as the stack's problem in `series` (text and JSON), and fail only that
stack in `convert` while the good stack converts to the right voxels. Valid encapsulated files (every
encoder of the pixel fixtures, and the JPEG / JPEG 2000 mosaics of ../shared/data) are never flagged.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import generate_uid

from conftest import SHARED_DATA, run_medvol
from pixel_fixtures import ENCODERS, assert_voxels_equal, noisy, pydicom_volume, transcode, write_pixel_series
from oracles import load_npy_with_sidecar

# codec family → (encoder of pixel_fixtures, stored dtype, bits stored)
CODECS = {
    "jpeg_baseline": ("jpeg_baseline_dcmtk", np.uint8, 8),
    "jpeg_lossless": ("jpeg_lossless_sv1", np.uint16, 12),
    "jpegls": ("jpegls_gdcm", np.uint16, 12),
    "j2k": ("j2k_gdcm", np.uint16, 12),
}
SLICES = 3


@pytest.fixture(scope="module")
def encoded(tmp_path_factory) -> dict[str, Path]:
    """A good 3-slice series per codec family (each file one fragment), decoded by pydicom to its truth."""
    folders = {}
    for codec, (encoder, dtype, bits) in CODECS.items():
        root = tmp_path_factory.mktemp(codec)
        high = (1 << bits) - 1
        truth = noisy((SLICES, 24, 30), dtype, 0, high, seed=5)
        write_pixel_series(root / "native", list(truth), bits_stored=bits)
        folder = transcode(root / "native", root / "good", encoder)
        if codec != "jpeg_baseline":   # lossless codecs: the files hold exactly the truth
            assert_voxels_equal(pydicom_volume(folder), truth, f"pydicom's reading of the {codec} series")
        folders[codec] = folder
    return folders


def _frame(path: Path) -> bytes:
    ds = pydicom.dcmread(path)
    return next(generate_frames(ds.PixelData, number_of_frames=1))


def _damaged(source: Path, target: Path, fragments: list[bytes], frames: int | None = None, syntax=None) -> Path:
    """`source` with new pixel data items (`fragments`, basic offset table empty) in a series of its own."""
    ds = pydicom.dcmread(source)
    ds.PixelData = encapsulate(fragments) if fragments else b"\xfe\xff\x00\xe0\x00\x00\x00\x00"
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    if frames is not None:
        ds.NumberOfFrames = frames
    if syntax is not None:
        ds.file_meta.TransferSyntaxUID = syntax
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SeriesNumber = 99
    ds.SeriesDescription = "damaged"
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    return target


def _other_family(encoded, codec) -> bytes:
    """A valid stream of another family: JPEG lossless for JPEG-LS and JPEG 2000, JPEG-LS for JPEG."""
    other = "jpegls" if codec.startswith("jpeg_") else "jpeg_lossless"
    return _frame(sorted(encoded[other].iterdir())[0])


# kind → (how the frame is damaged, words the reason must hold, per codec family)
KINDS = {
    "cut_in_header": (lambda frame, other: [frame[:30]],
                      {"j2k": "SIZ segment", "default": "is truncated"}),
    "cut_before_end": (lambda frame, other: [frame[:len(frame) - 10]],
                       {"j2k": "tile-part 1", "default": "does not end with an EOI marker (FFD9)"}),
    "no_start_marker": (lambda frame, other: [b"\x00\x00\x00\x00" + frame[4:]],
                        {"j2k": "FF4F FF51", "default": "SOI marker (FFD8)"}),
    "other_family": (lambda frame, other: [other],
                     {"j2k": "neither a codestream", "jpegls": "no SOF55 marker (FFF7)", "default": "JPEG-LS (SOF55, FFF7)"}),
    "no_fragment": (lambda frame, other: [],
                    {"default": "no fragment"}),
}


def _expected(kind: str, codec: str) -> str:
    words = KINDS[kind][1]
    return words.get(codec, words["default"])


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_damaged_frame_is_reported_by_info_and_series(medvol, tmp_path, encoded, codec, kind):
    good = sorted(encoded[codec].iterdir())
    damage, _ = KINDS[kind]
    bad = _damaged(good[1], tmp_path / "mixed" / "bad.dcm", damage(_frame(good[1]), _other_family(encoded, codec)))
    for path in good:
        shutil.copy(path, tmp_path / "mixed" / path.name)
    reason = _expected(kind, codec)

    info = medvol("info", bad, check=False)
    assert info.returncode == 1, info
    assert f"medvol: error: {bad}: pixel data cannot be decoded" in info.stderr, info.stderr
    assert reason in info.stderr, info.stderr
    assert "Traceback" not in info.stderr and "Fatal error" not in info.stderr

    listing = medvol("series", tmp_path / "mixed", "--json").json()
    assert len(listing["stacks"]) == 2, listing
    damaged = next(s for s in listing["stacks"] if s["seriesNumber"] == 99)
    healthy = next(s for s in listing["stacks"] if s["seriesNumber"] != 99)
    assert damaged["problem"].startswith(f"{bad}: pixel data cannot be decoded") and reason in damaged["problem"], damaged
    assert healthy["problem"] is None and healthy["size"] == [30, 24, SLICES], healthy

    text = medvol("series", tmp_path / "mixed").stdout
    assert f"cannot be loaded: {bad}: pixel data cannot be decoded" in text and reason in text, text


@pytest.mark.parametrize("codec", list(CODECS))
def test_convert_fails_only_the_damaged_stack(medvol, tmp_path, encoded, codec):
    good = sorted(encoded[codec].iterdir())
    folder = tmp_path / "mixed"
    bad = _damaged(good[0], folder / "bad.dcm", [_frame(good[0])[:40]])
    for path in good:
        shutil.copy(path, folder / path.name)
    result = medvol("convert", folder, tmp_path / "out", "--format", "npy", "--quiet", check=False)
    assert result.returncode == 3, result
    # The stack failure line: the file, the stack and its output name, then the reason.
    assert f"medvol: error: {bad}: #2 (99_damaged): pixel data cannot be decoded: " in result.stderr, result.stderr
    outputs = sorted((tmp_path / "out").glob("*.npy"))
    assert len(outputs) == 1, outputs
    array, sidecar = load_npy_with_sidecar(outputs[0])
    assert sidecar["size"] == [30, 24, SLICES]
    if codec != "jpeg_baseline":   # lossless: exactly pydicom's values
        assert_voxels_equal(array, pydicom_volume(encoded[codec]), f"{codec} good stack")

    # Asking for the damaged stack alone fails with the file and the reason; exit status 1, no output.
    alone = medvol("convert", bad, tmp_path / "bad.npy", check=False)
    assert alone.returncode == 1 and f"medvol: error: {bad}: pixel data cannot be decoded" in alone.stderr, alone
    assert not (tmp_path / "bad.npy").exists()


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("fragments", [2, 1])
def test_multi_frame_with_too_few_fragments(medvol, tmp_path, encoded, codec, fragments):
    good = sorted(encoded[codec].iterdir())
    frames = [_frame(path) for path in good]
    complete = _damaged(good[0], tmp_path / "complete.dcm", frames, frames=SLICES)
    short = _damaged(good[0], tmp_path / "short.dcm", frames[:fragments], frames=SLICES)

    assert medvol("info", complete).returncode == 0
    result = medvol("info", short, check=False)
    assert result.returncode == 1, result
    expected = f"hold {fragments} frames, Number of Frames says {SLICES}"
    assert f"medvol: error: {short}: pixel data cannot be decoded" in result.stderr and expected in result.stderr, result.stderr
    problem = medvol("series", short, "--json").json()["stacks"][0]["problem"]
    assert problem.startswith(str(short)) and expected in problem


def test_a_damaged_frame_of_a_multi_frame_file_is_named(medvol, tmp_path, encoded):
    good = sorted(encoded["jpegls"].iterdir())
    frames = [_frame(path) for path in good]
    frames[2] = frames[2][:len(frames[2]) - 20]
    path = _damaged(good[0], tmp_path / "multi.dcm", frames, frames=SLICES)
    result = medvol("info", path, check=False)
    assert result.returncode == 1
    assert f"frame 3 of {SLICES}: JPEG-LS stream is truncated" in result.stderr, result.stderr


# MARK: No false positives

ENCAPSULATING = [name for name in ENCODERS if name.startswith(("rle", "jpeg", "j2k"))]


@pytest.mark.parametrize("encoder", ENCAPSULATING)
def test_valid_encapsulated_files_are_not_flagged(medvol, tmp_path, encoder):
    rgb = encoder in ("jpeg_baseline_rgb", "jpeg_baseline_444")
    baseline = "baseline" in encoder
    dtype = np.uint8 if baseline else np.uint16
    frames = noisy((2, 33, 45), dtype, 0, 255 if baseline else 4095, seed=3)
    if rgb:
        frames = np.stack([frames] * 3, -1)
    write_pixel_series(tmp_path / "native", list(frames), photometric="RGB" if rgb else "MONOCHROME2",
                       bits_stored=8 if baseline else 12)
    folder = transcode(tmp_path / "native", tmp_path / encoder, encoder)
    for stack in medvol("series", folder, "--json").json()["stacks"]:
        assert stack["problem"] is None, stack
    medvol("info", folder)


def test_scanner_data_is_not_flagged(medvol):
    """The Siemens JPEG lossless and JPEG 2000 multiband mosaics (axmb), and every series of ../shared/data."""
    if not SHARED_DATA.exists():
        pytest.skip("shared data not present")
    axmb = medvol("series", SHARED_DATA / "dcm_qa_orientation" / "In" / "Orientation" / "axmb", "--json").json()
    pixels = [stack["storedPixels"] for stack in axmb["stacks"]]
    assert len(pixels) == 2 and any("JPEG 2000" in p for p in pixels) and any("JPEG Lossless" in p for p in pixels), pixels
    assert all(stack["problem"] is None for stack in axmb["stacks"])
    listing = medvol("series", SHARED_DATA, "--json").json()
    assert all(stack["problem"] is None for stack in listing["stacks"]), [s["problem"] for s in listing["stacks"] if s["problem"]]
