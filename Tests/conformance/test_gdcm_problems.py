"""Where GDCM 3.0.21 is wrong or dies (BUILDING-NOTES, "Known problems of GDCM 3.0.21"), medvol is right
and stays alive.

- RLE with 16- and 32-bit RGB samples: GDCM decodes them wrongly; medvol has its own RLE decoder.
- 32-bit Explicit VR Big Endian: GDCM swaps the bytes wrongly; medvol swaps native data itself.
- JPEG 2000 whose signedness disagrees with Pixel Representation: GDCM hands out the stream's unsigned
  values; medvol sign-extends from the stream's precision, as pydicom does.
- Damaged JPEG streams make GDCM fail an assertion (SIGABRT) or crash (SIGSEGV), truncated JPEG-LS
  streams make CharLS loop: medvol decodes in worker processes, reports the file, goes on with the
  others. (JPEG 2000 streams made GDCM's wrapper crash too; medvol now calls OpenJPEG directly, which
  fails cleanly on every damaged stream tried here — still in worker processes, as OpenJPEG 2.5.0 has
  known crashes of its own.)

Every file here is first shown to be what it claims: pydicom decodes it to the values it was made from.
"""
from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import openjpeg
import pydicom
import pytest
from pydicom.encaps import encapsulate, generate_frames
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRBigEndian, JPEG2000Lossless, RLELossless, generate_uid

from conftest import run_medvol
from pixel_fixtures import (
    assert_voxels_equal, medvol_volume, noisy, pydicom_volume, rgb_frames, rle_encode_frame, transcode,
    write_pixel_series,
)


def _rewrite(paths, encode, syntax):
    """Replaces each file's pixel data by `encode(k, ds)` (one fragment per frame) in `syntax`."""
    for k, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        ds.PixelData = encapsulate([encode(k, ds)])
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = syntax
        ds.save_as(path, enforce_file_format=True)


# MARK: Wrong values

@pytest.mark.parametrize("dtype", [np.uint16, np.uint32], ids=["16-bit", "32-bit"])
def test_rle_rgb_of_16_and_32_bits(medvol, tmp_path, dtype):
    truth = rgb_frames(dtype, seed=11, slices=2)
    paths = write_pixel_series(tmp_path / "rle", list(truth), photometric="RGB", modality="OT")
    _rewrite(paths, lambda k, ds: rle_encode_frame(truth[k]), RLELossless)
    assert_voxels_equal(pydicom_volume(tmp_path / "rle"), truth, "pydicom's reading of the hand-made RLE")
    actual, sidecar = medvol_volume(medvol, tmp_path / "rle", tmp_path / "out")
    assert actual.dtype == dtype and sidecar["components"] == 3
    assert_voxels_equal(actual, truth, f"RLE RGB {np.dtype(dtype).itemsize * 8}-bit")


@pytest.mark.parametrize("dtype", [np.int32, np.uint32])
def test_32_bit_big_endian(medvol, tmp_path, dtype):
    """Each 32-bit pixel cell big endian (as pydicom writes and reads Explicit VR Big Endian)."""
    info = np.iinfo(dtype)
    truth = (np.arange(2 * 33 * 45, dtype=np.int64).reshape(2, 33, 45) * 1_000_003 % (2 ** 32) + info.min).astype(dtype)
    truth[0, 0, :2] = info.min, info.max
    folder = tmp_path / "be"
    paths = write_pixel_series(folder, list(truth), modality="MR")
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.PixelData = ds.pixel_array.astype(np.dtype(dtype).newbyteorder(">")).tobytes()
        ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
        dcmwrite(path, ds, implicit_vr=False, little_endian=False, enforce_file_format=True)
    assert_voxels_equal(pydicom_volume(folder), truth, "pydicom's reading of the big endian file")
    actual, _ = medvol_volume(medvol, folder, tmp_path / "out")
    assert actual.dtype == dtype
    assert_voxels_equal(actual, truth, "32-bit big endian")


# (values, Bits Stored, Pixel Representation, stream signed, stream precision)
J2K_SIGN_CASES = {
    "signed 13-bit data in an unsigned 13-bit stream": (np.int16, -4096, 4095, 13, 1, False, 13),
    "signed 16-bit data in an unsigned 16-bit stream": (np.int16, -32768, 32767, 16, 1, False, 16),
    "signed 12-bit data in an unsigned 12-bit stream, Bits Stored 16": (np.int16, -2048, 2047, 16, 1, False, 12),
    "unsigned 12-bit data in a signed 12-bit stream": (np.uint16, 0, 4095, 12, 0, True, 12),
    "signed 12-bit data in a signed 12-bit stream": (np.int16, -2048, 2047, 12, 1, True, 12),
}


@pytest.mark.parametrize("case", list(J2K_SIGN_CASES))
def test_jpeg2000_signedness_against_pixel_representation(medvol, tmp_path, case):
    """pydicom (`_apply_sign_correction`): when the J2K stream's signedness differs from Pixel
    Representation, the decoded values are re-read as Pixel Representation says, from the stream's
    precision. The stream here holds the two's complement bit pattern of the data, as such encoders
    write it."""
    dtype, low, high, bits_stored, representation, stream_signed, precision = J2K_SIGN_CASES[case]
    truth = noisy((2, 36, 40), np.int64, low, high, seed=precision)
    paths = write_pixel_series(tmp_path / "j2k", list(truth.astype(dtype)), bits_stored=bits_stored,
                               signed=bool(representation), slope=1, intercept=0)

    def encode(k, ds):
        pattern_bits = truth[k] & ((1 << precision) - 1)
        if stream_signed:
            array = (pattern_bits ^ (1 << (precision - 1))) - (1 << (precision - 1))
            array = array.astype(np.int16 if precision > 8 else np.int8)
        else:
            array = pattern_bits.astype(np.uint16)
        stream = openjpeg.encode(array, bits_stored=precision)
        parameters = openjpeg.get_parameters(stream)
        assert parameters["is_signed"] == stream_signed and parameters["precision"] == precision
        return stream

    _rewrite(paths, encode, JPEG2000Lossless)
    assert_voxels_equal(pydicom_volume(tmp_path / "j2k"), truth, "pydicom's reading")
    actual, _ = medvol_volume(medvol, tmp_path / "j2k", tmp_path / "out")
    assert actual.dtype == dtype
    assert_voxels_equal(actual, truth, case)


def test_jpeg2000_precision_above_bits_stored(medvol, tmp_path):
    """A 16-bit J2K stream in a file that says Bits Stored 12 (GDCM itself encodes 12-bit data at 16-bit
    precision): its values are not masked to 12 bits (pydicom's rule), and values beyond what the headers
    promised widen the voxel type instead of being lost (int16 planned, int32 needed)."""
    truth = noisy((2, 36, 40), np.int64, 0, 65535, seed=99)
    paths = write_pixel_series(tmp_path / "j2k", list(truth.astype(np.uint16)), bits_stored=12, slope=1, intercept=-1024)
    _rewrite(paths, lambda k, ds: openjpeg.encode(truth[k].astype(np.uint16), bits_stored=16), JPEG2000Lossless)
    expected = pydicom_volume(tmp_path / "j2k")
    assert_voxels_equal(expected, truth - 1024, "pydicom's reading")
    actual, _ = medvol_volume(medvol, tmp_path / "j2k", tmp_path / "out")
    assert actual.dtype == np.int32
    assert_voxels_equal(actual, truth - 1024, "16-bit stream, Bits Stored 12")


# MARK: Streams that make GDCM abort, crash or hang

def _run(folder, output, *extra, env=None, timeout=120):
    return run_medvol("convert", folder, output, "--quiet", *extra, check=False, timeout=timeout, env=env)


def _mutations(frame: bytes, kind: str, rng: random.Random):
    """Endless damaged copies of `frame`."""
    while True:
        damaged = bytearray(frame)
        if kind == "flip":
            for _ in range(rng.randrange(1, 6)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        elif kind == "header":
            for _ in range(rng.randrange(1, 4)):
                damaged[rng.randrange(min(len(damaged), 160))] = rng.randrange(256)
        elif kind == "duplicate":
            at = rng.randrange(len(damaged))
            damaged[at:at] = damaged[at:at + 100]
        yield bytes(damaged)


def _find_crasher(good: Path, kinds, tmp_path: Path, attempts: int = 200) -> tuple[Path, int]:
    """A damaged copy of `good` that kills medvol when GDCM decodes in process (a fixed search: the
    sources, encoders and random seed are all deterministic)."""
    ds = pydicom.dcmread(good)
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    rng = random.Random(20240501)
    probe = tmp_path / "probe"
    probe.mkdir()
    generators = [_mutations(frame, kind, rng) for kind in kinds]
    for attempt in range(attempts):
        damaged = next(generators[attempt % len(generators)])
        ds.PixelData = encapsulate([damaged])
        for old in probe.iterdir():
            old.unlink()
        ds.save_as(probe / "damaged.dcm", enforce_file_format=True)
        result = _run(probe, tmp_path / "probe.npy", "--overwrite", env={"MEDVOL_CODEC_ISOLATION": "0"})
        if result.returncode < 0:
            return probe / "damaged.dcm", -result.returncode
    pytest.fail(f"no damaged copy of {good.name} crashed GDCM in {attempts} attempts")


@pytest.fixture(scope="module")
def compressed(tmp_path_factory):
    """One CT slice series, written once and encoded by GDCM as JPEG lossless, JPEG 2000 and JPEG-LS."""
    root = tmp_path_factory.mktemp("gdcm-problems")
    truth = noisy((2, 48, 64), np.int16, -1024, 3071, seed=21)
    write_pixel_series(root / "source", list(truth), slope=1, intercept=0)
    folders = {name: transcode(root / "source", root / name, encoder)
               for name, encoder in (("jpeg", "jpeg_lossless_sv1"), ("jpegbaseline", "jpeg_baseline_dcmtk"),
                                     ("j2k", "j2k_gdcm"), ("jpegls", "jpegls_gdcm"))}
    return truth, folders


@pytest.mark.parametrize("codec,kinds", [
    ("jpeg", ("flip", "duplicate", "header")),
    ("jpegbaseline", ("flip", "duplicate", "header")),
])
def test_a_stream_that_kills_gdcm_costs_one_file(medvol, tmp_path, compressed, codec, kinds):
    truth, folders = compressed
    crasher, _ = _find_crasher(sorted(folders[codec].iterdir())[0], kinds, tmp_path)

    # The damaged file as its own series, next to the intact series, in one folder.
    batch = tmp_path / "batch"
    batch.mkdir()
    ds = pydicom.dcmread(crasher)
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.SOPInstanceUID = generate_uid(), 99, generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(batch / "damaged.dcm", enforce_file_format=True)
    for path in folders[codec].iterdir():
        (batch / path.name).write_bytes(path.read_bytes())

    out = tmp_path / "out"
    result = _run(batch, out, "--format", "npy")
    assert result.returncode == 3, result   # the intact series converted, the damaged one failed
    assert "Fatal error" not in result.stderr and "Backtrace" not in result.stderr
    assert str(batch / "damaged.dcm") in result.stderr
    # The signal may differ from the in-process one: heap corruption is noticed (SIGABRT) or not
    # (SIGSEGV) depending on the heap's state.
    assert "the decoder process was killed by signal" in result.stderr, result.stderr
    converted = sorted(out.glob("*.npy"))
    assert len(converted) == 1, f"the intact series must still be converted: {converted}"
    if codec != "jpegbaseline":
        assert_voxels_equal(np.load(converted[0]), truth, "the intact series next to the damaged file")


@pytest.mark.parametrize("codec", ["j2k", "jpegls"])
@pytest.mark.parametrize("isolation", ["1", "0"])
def test_damaged_jpeg2000_and_jpegls_streams_fail_cleanly(medvol, tmp_path, compressed, codec, isolation):
    """JPEG 2000 (OpenJPEG) and JPEG-LS (CharLS) streams damaged in their headers, flipped, duplicated or
    cut: each damaged file is its own series beside the intact one; every one either decodes or fails with
    `medvol: error: PATH: …`, and the intact series converts exactly — in worker processes (the default)
    and in process (MEDVOL_CODEC_ISOLATION=0: no crash, no hang, for these streams)."""
    truth, folders = compressed
    good = sorted(folders[codec].iterdir())[0]
    ds = pydicom.dcmread(good)
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    rng = random.Random(20240502)
    generators = [_mutations(frame, kind, rng) for kind in ("header", "flip", "duplicate")]
    batch = tmp_path / "batch"
    batch.mkdir()
    damaged_paths = []
    for k in range(24):
        damaged = next(generators[k % 3])
        if codec == "jpegls" and k % 4 == 3:
            damaged = damaged[: len(damaged) * 3 // 4]   # cut short: refused before CharLS sees it
        ds.PixelData = encapsulate([damaged])
        ds.SeriesInstanceUID, ds.SeriesNumber, ds.SOPInstanceUID = generate_uid(), 100 + k, generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        path = batch / f"damaged{k:02}.dcm"
        ds.save_as(path, enforce_file_format=True)
        damaged_paths.append(path)
    for path in folders[codec].iterdir():
        (batch / path.name).write_bytes(path.read_bytes())

    out = tmp_path / "out"
    result = _run(batch, out, "--format", "npy", env={"MEDVOL_CODEC_ISOLATION": isolation, "MEDVOL_CODEC_TIMEOUT": "20"},
                  timeout=300)
    assert result.returncode in (0, 3), result
    assert "Fatal error" not in result.stderr and "Backtrace" not in result.stderr
    failed = [path for path in damaged_paths if f"medvol: error: {path}:" in result.stderr]
    converted = sorted(out.glob("*.npy"))
    # Every damaged file failed (named) or converted; the intact series converted, exactly.
    assert len(failed) + len(converted) == len(damaged_paths) + 1, (len(failed), len(converted), result.stderr)
    assert failed, "some damaged streams must fail"
    intact = [path for path in converted if np.load(path).shape == truth.shape]
    assert any(np.array_equal(np.load(path), truth) for path in intact), "the intact series must convert exactly"


def test_truncated_jpeg_ls_is_refused_without_waiting(medvol, tmp_path, compressed):
    """CharLS 2 loops for ever on JPEG-LS streams cut short; medvol refuses them at once."""
    _, folders = compressed
    ds = pydicom.dcmread(sorted(folders["jpegls"].iterdir())[0])
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([frame[: len(frame) * 2 // 3]])
    folder = tmp_path / "cut"
    folder.mkdir()
    ds.save_as(folder / "cut.dcm", enforce_file_format=True)
    started = time.monotonic()
    result = _run(folder, tmp_path / "cut.npy", timeout=60)
    assert time.monotonic() - started < 10
    assert result.returncode == 1 and "truncated" in result.stderr, result


def test_a_decoder_that_does_not_finish_in_time_is_stopped(medvol, tmp_path):
    """The deadline (MEDVOL_CODEC_TIMEOUT, seconds) is enforced: with an impossibly short one, a large
    JPEG 2000 frame fails with a clear message instead of waiting; with the default, it decodes."""
    truth = noisy((1, 512, 512), np.int16, -1024, 3071, seed=5)
    write_pixel_series(tmp_path / "source", list(truth), slope=1, intercept=0)
    transcode(tmp_path / "source", tmp_path / "j2k", "j2k_gdcm")
    result = _run(tmp_path / "j2k", tmp_path / "x.npy", env={"MEDVOL_CODEC_TIMEOUT": "0.001"})
    assert result.returncode == 1 and "did not finish within" in result.stderr, result
    assert not (tmp_path / "x.npy").exists()
    # The same through the option, which wins over the environment.
    result = _run(tmp_path / "j2k", tmp_path / "x.npy", "--codec-timeout", "0.001", env={"MEDVOL_CODEC_TIMEOUT": "100"})
    assert result.returncode == 1 and "did not finish within" in result.stderr, result
    assert not (tmp_path / "x.npy").exists()
    bad = _run(tmp_path / "j2k", tmp_path / "x.npy", "--codec-timeout", "0")
    assert bad.returncode == 2 and "--codec-timeout takes a number of seconds above 0" in bad.stderr, bad
    actual, _ = medvol_volume(medvol, tmp_path / "j2k", tmp_path / "ok")
    assert_voxels_equal(actual, truth, "large J2K frame")


def test_decoding_in_workers_equals_decoding_in_process(medvol, tmp_path, compressed):
    truth, folders = compressed
    for codec, folder in folders.items():
        isolated = _run(folder, tmp_path / f"{codec}-isolated.npy")
        in_process = _run(folder, tmp_path / f"{codec}-in-process.npy", env={"MEDVOL_CODEC_ISOLATION": "0"})
        assert isolated.returncode == 0 and in_process.returncode == 0, (isolated, in_process)
        by_option = _run(folder, tmp_path / f"{codec}-option.npy", "--codec-isolation", "in-process")
        assert by_option.returncode == 0, by_option
        assert np.array_equal(np.load(tmp_path / f"{codec}-option.npy"), np.load(tmp_path / f"{codec}-in-process.npy"))
        assert np.array_equal(np.load(tmp_path / f"{codec}-isolated.npy"), np.load(tmp_path / f"{codec}-in-process.npy"))
