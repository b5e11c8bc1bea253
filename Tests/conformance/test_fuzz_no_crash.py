"""No input can crash medvol: real and generated DICOM files, damaged on purpose (truncated at many
offsets, bytes flipped in headers and in compressed streams, element, item and fragment lengths set to huge
or odd values, Image Pixel attributes set to edge values, offset tables that lie, chunks spliced), are
thrown at `medvol series` and `medvol convert` in folders together with an intact series.

Every run must exit 0 or 1 — never by a signal, never 2 (bad usage) — with no "Fatal error" or
"Backtrace" on stderr, and the intact series must still convert to its exact values. Swift traps
(out-of-range indexes, overflow, force unwraps) are crashes too.

The mutations are deterministic (fixed seeds) and bounded in time: MEDVOL_FUZZ_BATCHES and
MEDVOL_FUZZ_MUTANTS (per seed file and batch) make the search longer when hunting for new crashes,
MEDVOL_FUZZ_SEED makes it another search.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import struct
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from conftest import SHARED_DATA, run_medvol
from pixel_fixtures import (
    _tool, noisy, rgb_frames, transcode, write_pixel_series,
)

BATCHES = int(os.environ.get("MEDVOL_FUZZ_BATCHES", "4"))
MUTANTS_PER_SEED = int(os.environ.get("MEDVOL_FUZZ_MUTANTS", "3"))
TIME_BUDGET = float(os.environ.get("MEDVOL_FUZZ_SECONDS", "50"))
SEED = int(os.environ.get("MEDVOL_FUZZ_SEED", "1977"))

LONG_VRS = {b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"UT", b"UN", b"UC", b"UR", b"SV", b"UV"}
ALL_VRS = LONG_VRS | {vr.encode() for vr in ("AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
                                             "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US")}
PIXEL_TAGS = [(0x0028, 0x0002), (0x0028, 0x0004), (0x0028, 0x0006), (0x0028, 0x0008), (0x0028, 0x0010),
              (0x0028, 0x0011), (0x0028, 0x0100), (0x0028, 0x0101), (0x0028, 0x0102), (0x0028, 0x0103),
              (0x0028, 0x1101), (0x0028, 0x3002), (0x0028, 0x1052), (0x0028, 0x1053), (0x0020, 0x0032),
              (0x0020, 0x0037), (0x0028, 0x0030), (0x5200, 0x9230), (0x0028, 0x3006), (0x0029, 0x1010)]
EDGE_WORDS = [0, 1, 2, 3, 7, 8, 12, 15, 16, 17, 24, 31, 32, 33, 64, 255, 256, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF]
EDGE_LENGTHS = [0, 1, 2, 3, 7, 0xFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFE, 0xFFFFFFFF]


# MARK: Seed files

def _seed_files(root: Path) -> dict[str, Path]:
    """Small generated files covering every decoder and assembly path, plus a few real ones."""
    seeds: dict[str, Path] = {}
    ct = noisy((2, 34, 40), np.int16, -1024, 3071, seed=61)
    write_pixel_series(root / "ct", list(ct), slope=1, intercept=0)
    for encoder in ("explicit", "implicit", "big_endian_dcmtk", "deflated", "rle_pydicom", "jpeg_lossless_sv1",
                    "jpeg_baseline_dcmtk", "jpegls_gdcm", "j2k_gdcm", "j2k_lossy_pydicom"):
        folder = transcode(root / "ct", root / f"ct-{encoder}", encoder)
        seeds[f"ct-{encoder}"] = sorted(folder.iterdir())[0]

    rgb = rgb_frames(np.uint8, seed=62, slices=1, rows=34, columns=40)
    write_pixel_series(root / "rgb", list(rgb), photometric="RGB", planar=1, modality="OT")
    seeds["rgb-planar"] = next((root / "rgb").iterdir())
    for encoder in ("jpeg_baseline_dcmtk", "rle_dcmtk", "jpegls_none", "j2k_gdcm"):
        seeds[f"rgb-{encoder}"] = next(transcode(root / "rgb", root / f"rgb-{encoder}", encoder).iterdir())

    def palette(ds, k):
        for colour in ("Red", "Green", "Blue"):
            setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
            ds[f"{colour}PaletteColorLookupTableDescriptor"].VR = "US"
            setattr(ds, f"Segmented{colour}PaletteColorLookupTableData",
                    np.array([0, 1, 0, 1, 255, 65535, 2, 1, 0, 0], "<u2").tobytes())
            ds[f"Segmented{colour}PaletteColorLookupTableData"].VR = "OW"
    indices = np.random.default_rng(63).integers(0, 256, (1, 20, 24)).astype(np.uint8)
    write_pixel_series(root / "palette", list(indices), photometric="PALETTE COLOR", modality="OT", extra=palette)
    seeds["palette-segmented"] = next((root / "palette").iterdir())

    bits = np.random.default_rng(64).integers(0, 2, (5, 7, 13)).astype(np.uint8)

    def multiframe_bits(ds, k):
        ds.NumberOfFrames = 5
        ds.PixelData = np.packbits(bits.ravel(), bitorder="little").tobytes()
        ds.SpacingBetweenSlices = 1.5
    write_pixel_series(root / "bits", [bits[0]], bits_allocated=1, bits_stored=1, signed=False, modality="OT",
                       extra=multiframe_bits)
    seeds["one-bit-multiframe"] = next((root / "bits").iterdir())

    def lut(ds, k):
        item = pydicom.Dataset()
        item.LUTDescriptor = [512, 0, 16]
        item["LUTDescriptor"].VR = "US"
        item.LUTData = np.arange(512, dtype="<u2").tobytes()
        item["LUTData"].VR = "OW"
        ds.ModalityLUTSequence = pydicom.Sequence([item])
    write_pixel_series(root / "lut", list(noisy((1, 16, 16), np.uint16, 0, 600, seed=65)), bits_stored=10, extra=lut)
    seeds["modality-lut"] = next((root / "lut").iterdir())

    from test_enhanced_multiframe import Frame, _geometry, write_enhanced
    geometry = _geometry(True)
    values = noisy((4, 12, 14), np.int16, -100, 900, seed=66)
    frames = [Frame(values[t * 2 + k], geometry.position(k), temporal_index=t + 1, slope=0.5 + t, intercept=1.0)
              for t in range(2) for k in range(2)]
    write_enhanced(root / "enhanced.dcm", frames[::-1], geometry)
    seeds["enhanced-4d"] = root / "enhanced.dcm"

    multiframe = noisy((4, 30, 36), np.int16, -500, 2500, seed=67)

    def frames_of(ds, k):
        ds.NumberOfFrames = 4
        ds.SpacingBetweenSlices = 2.0
        ds.PixelData = multiframe.astype("<i2").tobytes()
    write_pixel_series(root / "mf", [multiframe[0]], modality="MR", extra=frames_of)
    (root / "mf-jpeg").mkdir()
    _tool("dcmcjpeg", "+el", "+fs", "1")(next((root / "mf").iterdir()), root / "mf-jpeg" / "mf.dcm")
    seeds["multiframe-jpeg-fragments"] = root / "mf-jpeg" / "mf.dcm"
    (root / "mf-rle").mkdir()
    _tool("dcmcrle", "+fs", "1")(next((root / "mf").iterdir()), root / "mf-rle" / "mf.dcm")
    seeds["multiframe-rle-fragments"] = root / "mf-rle" / "mf.dcm"

    # Real files, when the shared data are here: a GE slice, Siemens mosaics (native, JPEG, J2K).
    if SHARED_DATA.exists():
        candidates = [
            next(iter(sorted((SHARED_DATA / "dcm_qa_ge" / "In" / "05_3D_Ax_T1_MP_RAGE_R22").iterdir())), None),
        ]
        orientation = SHARED_DATA / "dcm_qa_orientation" / "In"
        for sub in ("Orientation/ax/axasc35", "Orientation/axmb"):
            folder = orientation / sub
            if folder.exists():
                candidates += [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".nii")][:3]
        for path in candidates:
            if path is not None and path.is_file():
                seeds[f"real-{path.parent.name}-{path.name}"] = path
    return seeds


# MARK: Mutations

def _pixel_data_offset(data: bytes) -> int:
    at = max(data.rfind(b"\xe0\x7f\x10\x00"), data.rfind(b"\x7f\xe0\x00\x10"))
    return at if at > 0 else len(data) * 3 // 4


def _element_headers(data: bytes, end: int) -> list[int]:
    """Offsets of what look like explicit-VR little endian element headers before `end`."""
    found = []
    for at in range(132, min(end, len(data) - 8)):
        if data[at + 4:at + 6] in ALL_VRS and data[at] % 2 == 0 and data[at + 1] < 0x80:
            found.append(at)
    return found


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One damaged copy of `data` and what was done to it."""
    damaged = bytearray(data)
    pixels = _pixel_data_offset(data)
    kind = rng.choice(["truncate", "truncate-header", "flip-header", "flip-pixels", "element-length",
                       "item-length", "pixel-attribute", "splice", "zero-run", "offset-table", "number"])
    if kind == "truncate":
        return kind, bytes(damaged[:rng.randrange(0, len(damaged))])
    if kind == "truncate-header":
        return kind, bytes(damaged[:rng.randrange(0, max(1, pixels + 16))])
    if kind == "flip-header":
        for _ in range(rng.randrange(1, 9)):
            damaged[rng.randrange(128, max(129, pixels))] = rng.randrange(256)
        return kind, bytes(damaged)
    if kind == "flip-pixels":
        for _ in range(rng.randrange(1, 17)):
            damaged[rng.randrange(min(pixels, len(damaged) - 1), len(damaged))] = rng.randrange(256)
        return kind, bytes(damaged)
    if kind == "element-length":
        headers = _element_headers(data, pixels + 12)
        for _ in range(rng.randrange(1, 3)):
            if not headers:
                break
            at = rng.choice(headers)
            if data[at + 4:at + 6] in LONG_VRS:
                damaged[at + 8:at + 12] = struct.pack("<I", rng.choice(EDGE_LENGTHS))
            else:
                damaged[at + 6:at + 8] = struct.pack("<H", rng.choice(EDGE_WORDS))
        return kind, bytes(damaged)
    if kind == "item-length":
        items = [i for i in range(len(data) - 8) if data[i:i + 4] == b"\xfe\xff\x00\xe0"]
        if items:
            at = rng.choice(items)
            damaged[at + 4:at + 8] = struct.pack("<I", rng.choice(EDGE_LENGTHS))
        return kind, bytes(damaged)
    if kind == "pixel-attribute":
        group, element = rng.choice(PIXEL_TAGS)
        tag = struct.pack("<HH", group, element)
        at = data.find(tag, 132)
        if at > 0:
            value_at = at + 8 if data[at + 4:at + 6] in ALL_VRS else at + 8
            if value_at + 2 <= len(damaged):
                damaged[value_at:value_at + 2] = struct.pack("<H", rng.choice(EDGE_WORDS))
        return kind, bytes(damaged)
    if kind == "number":
        # A decimal or integer string (DS, IS) replaced by an extreme one of the same length.
        numbers = [at for at in _element_headers(data, pixels) if data[at + 4:at + 6] in (b"DS", b"IS")]
        for _ in range(rng.randrange(1, 4)):
            if not numbers:
                break
            at = rng.choice(numbers)
            length = struct.unpack("<H", data[at + 6:at + 8])[0]
            text = rng.choice(["nan", "inf", "-inf", "1e308", "-1e308", "1e-320", "9" * 16, "-0", "2147483648",
                               "4294967296", "0", "-1", "1e5\\nan", "\\\\"]).encode()
            value = (text * (length // max(1, len(text)) + 1))[:length]
            damaged[at + 8:at + 8 + length] = value.ljust(length, b" ")
        return kind, bytes(damaged)
    if kind == "splice":
        a, b = sorted(rng.randrange(0, len(damaged)) for _ in range(2))
        if rng.random() < 0.5:
            del damaged[a:b]
        else:
            damaged[a:a] = damaged[a:b][:512]
        return kind, bytes(damaged)
    if kind == "zero-run":
        a = rng.randrange(128, len(damaged))
        damaged[a:a + rng.randrange(1, 200)] = bytes(min(200, len(damaged) - a))[: len(damaged[a:a + 200])]
        return kind, bytes(damaged)
    # offset-table: the first item after the pixel data tag holds the Basic Offset Table
    at = data.find(b"\xfe\xff\x00\xe0", pixels)
    if at > 0:
        length = struct.unpack("<I", data[at + 4:at + 8])[0]
        for entry in range(min(length, 64) // 4):
            if rng.random() < 0.7:
                damaged[at + 8 + 4 * entry:at + 12 + 4 * entry] = struct.pack("<I", rng.choice(EDGE_LENGTHS + [rng.randrange(0, 5000)]))
    return kind, bytes(damaged)


def _with_fresh_uids(path: Path, target: Path, number: int) -> bool:
    """Copies `path` with new Series and SOP Instance UIDs (so that every mutant is a series of its own and
    none is dropped as a duplicate). False for files pydicom cannot re-write."""
    try:
        ds = pydicom.dcmread(path)
        ds.SeriesInstanceUID = generate_uid()
        ds.SOPInstanceUID = generate_uid()
        ds.SeriesNumber = 1000 + number
        if hasattr(ds, "file_meta"):
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(target)
        return True
    except Exception:
        return False


# MARK: The test

@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return _seed_files(tmp_path_factory.mktemp("fuzz-seeds"))


@pytest.fixture(scope="module")
def anchor(tmp_path_factory):
    """An intact series that must convert, exactly, next to the damaged files."""
    root = tmp_path_factory.mktemp("fuzz-anchor")
    values = noisy((3, 16, 18), np.int16, -1000, 1000, seed=69)
    paths = write_pixel_series(root / "anchor", list(values), slope=1, intercept=0)
    return paths, values, pydicom.dcmread(paths[0], stop_before_pixels=True).SeriesInstanceUID


def _assert_no_crash(result, what):
    assert result.returncode in (0, 1, 3), f"{what}: exit status {result.returncode}\n{result.stderr[-3000:]}"
    for marker in ("Fatal error", "Backtrace", "Stack dump", "Current stack trace"):
        assert marker not in result.stderr, f"{what}: {marker}\n{result.stderr[-3000:]}"


def _culprits(folder: Path, tmp_path: Path) -> list[str]:
    """After a crash: the mutants that crash on their own (for the failure message)."""
    found = []
    for path in sorted(folder.glob("m*.dcm")):
        single = tmp_path / "single"
        shutil.rmtree(single, ignore_errors=True)
        single.mkdir()
        shutil.copy(path, single / path.name)
        result = run_medvol("convert", single, tmp_path / "single-out", "--format", "npy", "--quiet", check=False, timeout=180)
        if result.returncode not in (0, 1, 3) or "Fatal error" in result.stderr:
            found.append(f"{path.name} (exit {result.returncode}): {result.stderr.strip()[-600:]}")
    return found


def test_damaged_files_never_crash_medvol(seeds, anchor, tmp_path):
    anchor_paths, anchor_values, anchor_uid = anchor
    started = time.monotonic()
    rng = random.Random(SEED)
    total = 0
    for batch in range(BATCHES):
        if time.monotonic() - started > TIME_BUDGET:
            break
        folder = tmp_path / f"batch{batch}"
        folder.mkdir()
        for path in anchor_paths:
            shutil.copy(path, folder / f"anchor-{path.name}")
        labels = {}
        for name, seed in sorted(seeds.items()):
            for copy in range(MUTANTS_PER_SEED):
                fresh = tmp_path / "fresh.dcm"
                if not _with_fresh_uids(seed, fresh, total):
                    shutil.copy(seed, fresh)
                kind, data = mutate(fresh.read_bytes(), rng)
                target = folder / f"m{total:05d}.dcm"
                target.write_bytes(data)
                labels[target.name] = f"{name}: {kind}"
                total += 1
        (tmp_path / f"batch{batch}-labels.json").write_text(json.dumps(labels, indent=1))

        listing = run_medvol("series", folder, "--json", check=False, timeout=180)
        _assert_no_crash(listing, f"medvol series on batch {batch}")
        if listing.returncode == 0:
            json.loads(listing.stdout)

        out = tmp_path / f"out{batch}"
        converted = run_medvol("convert", folder, out, "--format", "npy", "--name", "{SeriesUID}", "--quiet", check=False, timeout=180)
        if converted.returncode not in (0, 1, 3) or "Fatal error" in converted.stderr:
            culprits = _culprits(folder, tmp_path)
            pytest.fail(f"medvol convert crashed on batch {batch} (exit {converted.returncode}); mutants that crash alone: "
                        + "; ".join(f"{c} [{labels.get(c.split(' ')[0], '?')}]" for c in culprits)
                        + f"\n{converted.stderr[-2000:]}")
        _assert_no_crash(converted, f"medvol convert on batch {batch}")

        anchors = sorted(out.glob(f"{anchor_uid}*.npy"))
        assert len(anchors) == 1, f"the intact series was not converted in batch {batch}: {sorted(p.name for p in out.glob('*.npy'))}"
        assert np.array_equal(np.load(anchors[0]), anchor_values), "the intact series changed next to damaged files"
    assert total >= len(seeds), "no mutant was tried"
    print(f"{total} damaged files from {len(seeds)} seed files in {time.monotonic() - started:.1f} s")


# MARK: Inputs that crashed medvol before (regressions)

def _lut_descriptor_nan(ds):
    item = pydicom.Dataset()
    item.LUTDescriptor = ["nan", "1e300", "16"]
    item["LUTDescriptor"].VR = "DS"
    item.LUTData = np.arange(10, dtype="<u2").tobytes()
    item["LUTData"].VR = "OW"
    ds.ModalityLUTSequence = pydicom.Sequence([item])


def _palette_descriptor_inf(ds):
    ds.PhotometricInterpretation, ds.PixelRepresentation = "PALETTE COLOR", 0
    for colour in ("Red", "Green", "Blue"):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", ["inf", "-1e300", "16"])
        ds[f"{colour}PaletteColorLookupTableDescriptor"].VR = "DS"
        setattr(ds, f"{colour}PaletteColorLookupTableData", b"\0\0" * 4)
        ds[f"{colour}PaletteColorLookupTableData"].VR = "OW"


CRAFTED = {
    # Number of Frames far beyond the pixel data: medvol planned (and allocated) every frame.
    "native, 2147483647 frames": ("explicit", lambda ds: setattr(ds, "NumberOfFrames", 2147483647), "Number of Frames"),
    "RLE, 999999999 frames": ("rle_pydicom", lambda ds: setattr(ds, "NumberOfFrames", 999999999), "Number of Frames"),
    "J2K, 99999999 frames": ("j2k_gdcm", lambda ds: setattr(ds, "NumberOfFrames", 99999999), "Number of Frames"),
    # NaN and infinite descriptors: Int(Double) trapped.
    "Modality LUT Descriptor NaN": ("explicit", _lut_descriptor_nan, "Modality LUT Descriptor"),
    "palette descriptor infinite": ("explicit", _palette_descriptor_inf, "palette descriptor"),
    # 65535 × 65535 compressed frames: a 16 GiB volume and its decoding buffers were allocated.
    "RLE claiming 65535 × 65535": ("rle_pydicom", lambda ds: (setattr(ds, "Rows", 65535), setattr(ds, "Columns", 65535)), "memory"),
    # The header check (CodestreamCheck) now refuses it before any allocation: the codestream's own size differs.
    "J2K claiming 65535 × 65535": ("j2k_gdcm", lambda ds: (setattr(ds, "Rows", 65535), setattr(ds, "Columns", 65535)),
                                   "codestream is 18×16, the header says 65535×65535"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_inputs_that_crashed_medvol_now_fail_cleanly(tmp_path, anchor, case):
    encoder, damage, reason = CRAFTED[case]
    anchor_paths, anchor_values, anchor_uid = anchor
    write_pixel_series(tmp_path / "plain", list(noisy((2, 16, 18), np.int16, -100, 100, seed=70)), slope=1, intercept=0)
    folder = transcode(tmp_path / "plain", tmp_path / "damaged", encoder)
    for path in folder.iterdir():
        ds = pydicom.dcmread(path)
        damage(ds)
        ds.save_as(path)
    alone = run_medvol("convert", folder, tmp_path / "alone.npy", check=False, timeout=180)
    _assert_no_crash(alone, case)
    assert alone.returncode == 1 and reason in alone.stderr, alone.stderr

    for path in anchor_paths:
        shutil.copy(path, folder / f"anchor-{path.name}")
    listing = run_medvol("series", folder, "--json", check=False, timeout=180)
    _assert_no_crash(listing, case)
    out = tmp_path / "out"
    together = run_medvol("convert", folder, out, "--format", "npy", "--name", "{SeriesUID}", "--quiet", check=False, timeout=180)
    _assert_no_crash(together, case)
    assert np.array_equal(np.load(next(out.glob(f"{anchor_uid}*.npy"))), anchor_values)
