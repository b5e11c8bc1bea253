"""Hostile input to the readers (issue 12, items 1–3): decompression bombs, absurd header values, data files
that are not regular files or lie outside the input's folder, symbolic-link loops and short data.

Every case must end with exit status 1 and the one line `medvol: error: PATH: REASON`, within 30 s, with a
peak memory (the process's maximum resident set, from `/usr/bin/time`) of at most 1 GiB, and leave the
output folder empty (no partial file, no hidden staging folder).

Bombs are made of zero bytes compressed with full flushes: a 1 MiB block of zeros compresses to about 1 KiB,
and after a full flush the next block's bytes are the same, so a stream of N MiB is built by repeating them
(deflate cannot do better than about 1032:1, so 3 GiB takes about 3 MiB — made here, never committed)."""
from __future__ import annotations

import gzip
import io
import os
import re
import struct
import subprocess
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import DeflatedExplicitVRLittleEndian

from conftest import medvol_binary
from dicom_fixtures import SeriesSpec, pattern, write_series

GIB = 1 << 30
PEAK_LIMIT_KIB = 1 << 20          # 1 GiB
TIME_LIMIT = 30.0


# ----------------------------------------------------------------------------------------------------------
# Running medvol and checking a refusal

class Measured:
    def __init__(self, returncode, stdout, stderr, peak_kib, seconds):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.peak_kib, self.seconds = peak_kib, seconds

    def __repr__(self):
        return (f"<medvol exit {self.returncode}, {self.seconds:.2f} s, peak {self.peak_kib} KiB\n"
                f"stdout: {self.stdout}\nstderr: {self.stderr}>")


def run_measured(*args) -> Measured:
    """Runs medvol under /usr/bin/time (peak resident memory) with a 30 s timeout."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        start = time.monotonic()
        completed = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", timing.name, medvol_binary(), *map(str, args)],
                                   capture_output=True, text=True, timeout=TIME_LIMIT)
        seconds = time.monotonic() - start
        lines = [line for line in Path(timing.name).read_text().splitlines() if line.strip().isdigit()]
    peak = int(lines[-1]) if lines else -1
    if os.environ.get("MEDVOL_HOSTILE_REPORT"):
        # One line per run, for the figures of a closing note: test, exit status, peak KiB, seconds.
        with open(os.environ["MEDVOL_HOSTILE_REPORT"], "a") as report:
            report.write(f"{os.environ.get('PYTEST_CURRENT_TEST', '?').split(' ')[0]}\t{completed.returncode}\t{peak}\t{seconds:.2f}\n")
    return Measured(completed.returncode, completed.stdout, completed.stderr, peak, seconds)


def assert_refused(args, path, reason: str, output: Path | None = None) -> Measured:
    """medvol ARGS fails with exactly one `medvol: error: PATH: REASON` line (REASON a regular expression that
    must match the whole reason), within the time and memory limits, leaving `output` (a folder) empty."""
    result = run_measured(*args)
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("medvol: error: ")]
    assert len(errors) == 1 and len(lines) == 1, result
    prefix = f"medvol: error: {path}: "
    assert errors[0].startswith(prefix), result
    assert re.fullmatch(reason, errors[0][len(prefix):]), result
    assert 0 < result.peak_kib <= PEAK_LIMIT_KIB, result
    assert result.seconds < TIME_LIMIT, result
    if output is not None and output.exists():
        assert sorted(os.listdir(output)) == [], f"left in {output}: {os.listdir(output)}"
    return result


# ----------------------------------------------------------------------------------------------------------
# Making bombs

def zero_stream(mebibytes: int, wbits: int) -> bytes:
    """A deflate stream (raw −15, zlib 15) of `mebibytes` MiB of zero bytes, made without compressing them all."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1 << 20)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH) == repeated
    end = compressor.flush(zlib.Z_FINISH)
    if wbits == 15:
        # The Adler-32 of the whole stream: computed for N MiB of zeros (a = 1, b = N·2^20 mod 65521).
        total = mebibytes << 20
        end = end[:-4] + struct.pack(">I", ((total % 65521) << 16) | 1)
    return first + repeated * (mebibytes - 1) + end


def zero_deflate_after(prefix: bytes, mebibytes: int) -> bytes:
    """A raw deflate stream of `prefix` followed by `mebibytes` MiB of zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = bytes(1 << 20)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    return head + first + repeated * (mebibytes - 1) + compressor.flush(zlib.Z_FINISH)


def gzip_zeros(mebibytes: int) -> bytes:
    """Gzip of `mebibytes` MiB of zeros: 16 MiB members, repeated (a gzip file may hold many)."""
    member = gzip.compress(bytes(16 << 20), 9)
    return member * (mebibytes // 16)


def nifti_header(shape, datatype=4, bitpix=16, spacing=(1.0, 1.0, 1.0)) -> bytes:
    header = bytearray(348)
    struct.pack_into("<i", header, 0, 348)
    struct.pack_into("<8h", header, 40, len(shape), *shape, *([1] * (7 - len(shape))))
    struct.pack_into("<hh", header, 70, datatype, bitpix)
    struct.pack_into("<8f", header, 76, 1.0, *spacing, 0, 0, 0, 0)
    struct.pack_into("<f", header, 108, 352.0)
    struct.pack_into("<f", header, 112, 1.0)
    header[123] = 2
    struct.pack_into("<h", header, 252, 1)
    header[344:348] = b"n+1\0"
    return bytes(header) + b"\0\0\0\0"


BIG_SHAPE = (1024, 1024, 1536)                  # int16: exactly 3 GiB
BIG_BYTES = 1024 * 1024 * 1536 * 2
LIMIT_REASON = (r"the voxels take 3221225472 bytes \(3 GiB\), more than the memory limit of 2 GiB"
                r" \(raise it with --max-memory\)")


def npy_header(shape, descr="<i2") -> bytes:
    text = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def deflated_dicom(folder: Path, values=None) -> tuple[Path, bytes, bytes]:
    """A deflated-transfer-syntax file written by pydicom: (path, bytes before the deflated data set, the
    inflated data set)."""
    spec = SeriesSpec(values=pattern(1, 16, 16) if values is None else values,
                      transfer_syntax=DeflatedExplicitVRLittleEndian)
    path = write_series(folder, spec)[0]
    data = path.read_bytes()
    meta_length = struct.unpack_from("<I", data, 132 + 8)[0]
    start = 132 + 12 + meta_length
    return path, data[:start], zlib.decompress(data[start:], -15)


# ----------------------------------------------------------------------------------------------------------
# Item 1: bounded memory for every decoder

@pytest.mark.parametrize("command", ["dump", "convert", "anonymize", "info"])
def test_deflated_dicom_with_gigabytes_after_its_pixel_data(tmp_path, command):
    """A deflated data set that inflates to 8 GiB past its 512 bytes of pixel data: inflating stops at the
    size the header justifies."""
    path, meta, dataset = deflated_dicom(tmp_path / "in")
    path.write_bytes(meta + zero_deflate_after(dataset, 8 << 10))
    assert path.stat().st_size < 10 << 20
    out = tmp_path / "out"
    out.mkdir()
    args = {"dump": ["dump", path], "info": ["info", path], "convert": ["convert", path, out / "x.nii"],
            "anonymize": ["anonymize", tmp_path / "in", out / "anon"]}[command]
    assert_refused(args, path, r"the deflated data set inflates to more than the \d+ bytes its header justifies"
                               r" \(pixel data end at byte \d+\)", out)


def test_deflated_dicom_whose_pixel_data_claim_gigabytes(tmp_path):
    """Pixel Data whose length says 3 GiB (and whose deflated zeros are there) for a 16×16 image."""
    path, meta, dataset = deflated_dicom(tmp_path / "in")
    at = dataset.index(b"\xe0\x7f\x10\x00OW")
    claimed = dataset[:at] + b"\xe0\x7f\x10\x00OW\0\0" + struct.pack("<I", 3 * GIB)
    path.write_bytes(meta + zero_deflate_after(claimed, 3 << 10))
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", path, out / "x.nii"], path,
                   r"the deflated data set inflates to more than the \d+ bytes its header justifies"
                   r" \(pixel data end at byte \d+\)", out)


def test_deflated_dicom_still_reads(medvol, tmp_path):
    """The bound does not refuse an honest deflated file."""
    values = pattern(1, 64, 64)
    path, _, _ = deflated_dicom(tmp_path / "in", values)
    medvol("convert", path, tmp_path / "x.npy")
    assert np.array_equal(np.load(tmp_path / "x.npy")[0], values[0])


def test_nifti_gz_announcing_3_gib(tmp_path):
    """A 3 MiB .nii.gz whose header announces (and whose data hold) 3 GiB: refused by the memory limit before
    anything is allocated or inflated."""
    path = tmp_path / "bomb.nii.gz"
    path.write_bytes(gzip.compress(nifti_header(BIG_SHAPE)) + gzip_zeros(3 << 10))
    assert path.stat().st_size < 4 << 20
    out = tmp_path / "out"
    out.mkdir()
    for args in (["convert", path, out / "x.npy"], ["info", path], ["export", path, out / "png"],
                 ["preview", path, out / "p.png"]):
        assert_refused(args, path, LIMIT_REASON, out)


def test_nifti_gz_with_gigabytes_past_its_voxels(medvol, tmp_path):
    """A small header followed by 3 GiB of compressed zeros: only the voxels the header announces are inflated
    (the rest is never read), in bounded time and memory."""
    path = tmp_path / "tail.nii.gz"
    path.write_bytes(gzip.compress(nifti_header((8, 8, 8)) + bytes(1024)) + gzip_zeros(3 << 10))
    result = run_measured("convert", path, tmp_path / "x.npy")
    assert result.returncode == 0, result
    assert result.seconds < 5 and result.peak_kib <= PEAK_LIMIT_KIB, result
    assert np.load(tmp_path / "x.npy").shape == (8, 8, 8)


def test_max_memory_option(medvol, tmp_path):
    """--max-memory lowers (or raises) the limit; its value takes K, M, G suffixes."""
    path = tmp_path / "small.nii.gz"
    path.write_bytes(gzip.compress(nifti_header((64, 64, 64)) + bytes(64 * 64 * 64 * 2)))
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", path, out / "x.npy", "--max-memory", "256K"], path,
                   r"the voxels take 524288 bytes \(512 KiB\), more than the memory limit of 256 KiB"
                   r" \(raise it with --max-memory\)", out)
    medvol("convert", path, out / "x.npy", "--max-memory", "1M")
    bad = medvol("convert", path, out / "y.npy", "--max-memory", "lots", check=False)
    assert bad.returncode == 2 and "--max-memory" in bad.stderr


def test_zraw_bomb(tmp_path):
    """A MetaImage .zraw of 3 MiB whose DimSize announces 3 GiB."""
    (tmp_path / "bomb.zraw").write_bytes(zero_stream(3 << 10, 15))
    header = tmp_path / "bomb.mhd"
    header.write_text("ObjectType = Image\nNDims = 3\nDimSize = 1024 1024 1536\nElementType = MET_SHORT\n"
                      "BinaryData = True\nCompressedData = True\nElementDataFile = bomb.zraw\n")
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", header, out / "x.nii"], header, LIMIT_REASON, out)


def test_zraw_with_gigabytes_past_its_voxels(tmp_path):
    """A .zraw that inflates to 3 GiB behind an 8×8×8 header: only 1 KiB is inflated."""
    (tmp_path / "tail.zraw").write_bytes(zero_stream(3 << 10, 15))
    header = tmp_path / "tail.mhd"
    header.write_text("ObjectType = Image\nNDims = 3\nDimSize = 8 8 8\nElementType = MET_SHORT\n"
                      "BinaryData = True\nCompressedData = True\nElementDataFile = tail.zraw\n")
    result = run_measured("convert", header, tmp_path / "x.npy")
    assert result.returncode == 0, result
    assert result.seconds < 5 and result.peak_kib <= PEAK_LIMIT_KIB, result


def test_npz_bomb(tmp_path):
    """An .npz whose image.npy (deflated) announces and holds 3 GiB."""
    path = tmp_path / "bomb.npz"
    payload = zero_stream(3 << 10, -15)
    body = npy_header(BIG_SHAPE)
    # The zip entry: the .npy header and the zeros, deflated as one raw stream (header first, full flush).
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = compressor.compress(body) + compressor.flush(zlib.Z_FULL_FLUSH) + payload
    size = len(body) + BIG_BYTES
    crc = zlib.crc32(body)
    crc = zlib.crc32(bytes(1 << 20), crc)  # placeholder: the CRC is checked only after every byte
    name = b"image.npy"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(name), 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size, len(name),
                          0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    path.write_bytes(local + data + central + end)
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", path, out / "x.nii"], path, LIMIT_REASON, out)


def test_npz_entry_inflating_past_its_size(tmp_path):
    """An .npz entry whose zip sizes say 1 KiB of array but whose deflate stream goes on for 3 GiB (the zip
    sizes still say 1 KiB: the CRC and size checks pass on the bytes read)."""
    path = tmp_path / "tail.npz"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("image.npy", "w") as entry:
            np.save(entry, np.zeros((8, 8, 8), np.int16))
    original = buffer.getvalue()
    # Replace the entry's compressed data by a stream of the same .npy followed by zeros.
    npy = io.BytesIO()
    np.save(npy, np.zeros((8, 8, 8), np.int16))
    stream = zero_deflate_after(npy.getvalue(), 3 << 10)
    local_size = struct.unpack_from("<I", original, 18)[0]
    name_length, extra_length = struct.unpack_from("<HH", original, 26)
    start = 30 + name_length + extra_length
    tail = original[start + local_size:]
    central_at = tail.index(b"PK\x01\x02")
    central = bytearray(tail[central_at:])
    local = bytearray(original[:start])
    struct.pack_into("<I", local, 18, len(stream))
    struct.pack_into("<I", central, 20, len(stream))
    end_at = central.index(b"PK\x05\x06")
    struct.pack_into("<I", central, end_at + 16, len(local) + len(stream))
    path.write_bytes(bytes(local) + stream + bytes(central))
    # Only the entry's array bytes are inflated: the rest of the stream is never read.
    result = run_measured("convert", path, tmp_path / "x.nii")
    assert result.returncode == 0, result
    assert result.seconds < 5 and result.peak_kib <= PEAK_LIMIT_KIB, result


def test_gzip_nrrd_bomb(tmp_path):
    """An attached gzip NRRD of 3 MiB announcing 3 GiB, and a detached one."""
    header = ("NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 1024 1024 1536\n"
              "space directions: (1,0,0) (0,1,0) (0,0,1)\nkinds: domain domain domain\nendian: little\n"
              "encoding: gzip\nspace origin: (0,0,0)\n")
    attached = tmp_path / "bomb.nrrd"
    attached.write_bytes(header.encode() + b"\n" + gzip_zeros(3 << 10))
    (tmp_path / "bomb.raw.gz").write_bytes(gzip_zeros(3 << 10))
    detached = tmp_path / "bomb.nhdr"
    detached.write_text(header + "data file: bomb.raw.gz\n")
    out = tmp_path / "out"
    out.mkdir()
    for path in (attached, detached):
        assert_refused(["convert", path, out / "x.nii"], path, LIMIT_REASON, out)


def test_gzip_nrrd_with_gigabytes_past_its_voxels(tmp_path):
    """A gzip NRRD whose data go on for 3 GiB past its 8×8×8 voxels: the size check stops at the voxels."""
    path = tmp_path / "tail.nrrd"
    path.write_bytes(b"NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 8 8 8\n"
                     b"space directions: (1,0,0) (0,1,0) (0,0,1)\nkinds: domain domain domain\nendian: little\n"
                     b"encoding: gzip\nspace origin: (0,0,0)\n\n" + gzip.compress(bytes(1024)) + gzip_zeros(3 << 10))
    result = run_measured("convert", path, tmp_path / "x.npy")
    assert result.returncode == 0, result
    assert result.seconds < 5 and result.peak_kib <= PEAK_LIMIT_KIB, result


@pytest.mark.parametrize("spacing", ["1e-30", "1e30", "0", "1e-300"])
@pytest.mark.parametrize("command", ["export", "preview"])
def test_absurd_pixel_spacing(medvol, tmp_path, spacing, command):
    """An image whose Pixel Spacing is absurd: refused with a clear error (never a trap)."""
    spec = SeriesSpec(values=pattern(3, 12, 12))
    paths = write_series(tmp_path / "in", spec)
    for path in paths:
        dataset = pydicom.dcmread(path)
        dataset.PixelSpacing = [spacing, "0.6"]
        dataset.save_as(path)
    out = tmp_path / "out"
    out.mkdir()
    target = out / ("pictures" if command == "export" else "p.png")
    result = run_measured(command, tmp_path / "in", target, "--axis", "coronal") if command == "export" \
        else run_measured(command, tmp_path / "in", target)
    if result.returncode == 0:
        # A spacing that is merely extreme may still make a picture of bounded size.
        assert result.peak_kib <= PEAK_LIMIT_KIB and result.seconds < TIME_LIMIT, result
        return
    assert result.returncode == 1, result
    assert re.fullmatch(r"medvol: error: .+: .+", result.stderr.strip()), result
    assert result.peak_kib <= PEAK_LIMIT_KIB and result.seconds < TIME_LIMIT, result
    assert os.listdir(out) == []


# ----------------------------------------------------------------------------------------------------------
# Item 2: only regular files, inside the input's folder

def metaimage_header(folder: Path, data_file: str, name="x.mhd", size=(4, 4, 4)) -> Path:
    header = folder / name
    header.write_text("ObjectType = Image\nNDims = 3\nDimSize = %d %d %d\nElementType = MET_SHORT\n"
                      "BinaryData = True\nElementDataFile = %s\n" % (*size, data_file))
    return header


def nrrd_header(folder: Path, data_file: str, name="x.nhdr", size=(4, 4, 4)) -> Path:
    header = folder / name
    header.write_text("NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: %d %d %d\n"
                      "space directions: (1,0,0) (0,1,0) (0,0,1)\nkinds: domain domain domain\nendian: little\n"
                      "encoding: raw\nspace origin: (0,0,0)\ndata file: %s\n" % (*size, data_file))
    return header


@pytest.mark.parametrize("make_header", [metaimage_header, nrrd_header])
def test_data_file_that_is_a_fifo(tmp_path, make_header):
    """A data file that is a FIFO (reading it would block forever) is refused, never opened."""
    os.mkfifo(tmp_path / "data.raw")
    header = make_header(tmp_path, "data.raw")
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", header, out / "x.npy"], header,
                   re.escape(f"its data file {tmp_path}/data.raw is not a regular file (a FIFO)"), out)


@pytest.mark.parametrize("make_header", [metaimage_header, nrrd_header])
def test_data_file_that_is_a_folder_or_device(tmp_path, make_header):
    (tmp_path / "folder.raw").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    header = make_header(tmp_path, "folder.raw")
    assert_refused(["convert", header, out / "x.npy"], header,
                   re.escape(f"its data file {tmp_path}/folder.raw is not a regular file (a folder)"), out)
    header = make_header(tmp_path, "/dev/zero", name="dev" + header.suffix)
    assert_refused(["convert", header, out / "x.npy"], header,
                   re.escape("its data file /dev/zero is not a regular file (a character device)"), out)


@pytest.mark.parametrize("make_header", [metaimage_header, nrrd_header])
def test_data_file_outside_the_folder(medvol, tmp_path, make_header):
    """A detached data file `../outside.raw` is refused unless --allow-outside-references is given."""
    (tmp_path / "outside.raw").write_bytes(np.arange(64, dtype="<i2").tobytes())
    folder = tmp_path / "input"
    folder.mkdir()
    header = make_header(folder, "../outside.raw")
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", header, out / "x.npy"], header,
                   re.escape(f"its data file {folder}/../outside.raw is outside the folder {folder}"
                             " (allow it with --allow-outside-references)"), out)
    # A symbolic link inside the folder that points outside is outside too.
    (folder / "link.raw").symlink_to(tmp_path / "outside.raw")
    linked = make_header(folder, "link.raw", name="linked" + header.suffix)
    assert_refused(["convert", linked, out / "x.npy"], linked,
                   re.escape(f"its data file {folder}/link.raw is outside the folder {folder}"
                             " (allow it with --allow-outside-references)"), out)
    medvol("convert", header, out / "x.npy", "--allow-outside-references")
    assert np.array_equal(np.load(out / "x.npy").ravel(), np.arange(64))


def dicomdir_with_reference(tmp_path, reference: list[str]) -> tuple[Path, Path]:
    """A pydicom File-set whose first image record is made to reference `reference` (a real DICOM file
    put there). Returns (DICOMDIR, the file referenced)."""
    from pydicom.fileset import FileSet
    staging = tmp_path / "staging"
    paths = write_series(staging, SeriesSpec(values=pattern(3, 8, 8)))
    file_set = FileSet()
    for path in paths:
        file_set.add(pydicom.dcmread(path))
    root = tmp_path / "media" / "fs"
    file_set.write(root)
    dicomdir = root / "DICOMDIR"
    dataset = pydicom.dcmread(dicomdir)
    record = next(item for item in dataset.DirectoryRecordSequence if item.DirectoryRecordType == "IMAGE")
    original = root.joinpath(*record.ReferencedFileID)
    target = root.joinpath(*reference)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(original, target)
    record.ReferencedFileID = reference
    dataset.save_as(dicomdir)
    return dicomdir, target.resolve()


def test_dicomdir_reference_outside_its_folder(medvol, tmp_path):
    dicomdir, target = dicomdir_with_reference(tmp_path, ["..", "..", "x"])
    out = tmp_path / "out"
    out.mkdir()
    folder = dicomdir.parent
    reason = re.escape(f"references {folder}/../../x, outside the folder {folder}"
                       " (allow it with --allow-outside-references)")
    for args in (["convert", dicomdir, out / "x.npy"], ["series", dicomdir, "--open-files"], ["info", dicomdir]):
        assert_refused(args, dicomdir, reason, out)
    medvol("convert", dicomdir, out / "x.npy", "--allow-outside-references")
    assert np.load(out / "x.npy").shape == (3, 8, 8)


def test_dicomdir_reference_that_is_not_a_regular_file(tmp_path):
    dicomdir, target = dicomdir_with_reference(tmp_path, ["IMG", "FIFO"])
    target.unlink()
    os.mkfifo(target)
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", dicomdir, out / "x.npy"], dicomdir,
                   re.escape(f"references {dicomdir.parent}/IMG/FIFO, which is not a regular file (a FIFO)"), out)


def test_symbolic_link_loop_in_an_input_folder(tmp_path):
    folder = tmp_path / "in"
    write_series(folder, SeriesSpec(values=pattern(3, 8, 8)))
    (folder / "a").symlink_to(folder / "b")
    (folder / "b").symlink_to(folder / "a")
    out = tmp_path / "out"
    out.mkdir()
    for args in (["convert", folder, out / "x.npy"], ["series", folder], ["anonymize", folder, out / "anon"]):
        assert_refused(args, folder / "a", "symbolic link loop", out)


def test_folder_link_cycle_in_an_input_folder(medvol, tmp_path):
    """A link to a folder that contains it: links to folders are not followed, so the walk ends (the series
    is found once, not once per turn round the cycle)."""
    folder = tmp_path / "in"
    write_series(folder / "series", SeriesSpec(values=pattern(3, 8, 8)))
    (folder / "series" / "up").symlink_to(folder)
    result = run_measured("convert", folder, tmp_path / "x.npy")
    assert result.returncode == 0 and result.seconds < 5, result
    assert np.load(tmp_path / "x.npy").shape == (3, 8, 8)


# ----------------------------------------------------------------------------------------------------------
# Item 3: short data

SHORT = 4 * 4 * 4 * 2 - 10      # 10 bytes fewer than a 4×4×4 int16 volume


def test_short_metaimage_raw(tmp_path):
    (tmp_path / "x.raw").write_bytes(bytes(SHORT))
    header = metaimage_header(tmp_path, "x.raw")
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", header, out / "x.nii"], f"{tmp_path}/x.raw",
                   r"truncated: 128 bytes of voxels expected from byte 0, only 118 there", out)


def test_short_metaimage_zraw(tmp_path):
    (tmp_path / "x.zraw").write_bytes(zlib.compress(bytes(SHORT)))
    header = tmp_path / "x.mhd"
    header.write_text("ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\nElementType = MET_SHORT\nBinaryData = True\n"
                      "CompressedData = True\nElementDataFile = x.zraw\n")
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", header, out / "x.nii"], f"{tmp_path}/x.zraw",
                   r"compressed data ends 10 bytes too early \(truncated\)", out)


def test_short_nrrd(tmp_path):
    (tmp_path / "x.raw").write_bytes(bytes(SHORT))
    header = nrrd_header(tmp_path, "x.raw")
    attached = tmp_path / "a.nrrd"
    attached.write_bytes(header.read_bytes().replace(b"data file: x.raw\n", b"\n") + bytes(SHORT))
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", header, out / "x.nii"], f"{tmp_path}/x.raw",
                   r"truncated: 128 bytes of voxels expected from byte 0, only 118 there", out)
    assert_refused(["convert", attached, out / "x.nii"], attached,
                   r"truncated: 128 bytes of voxels expected from byte \d+, only 118 there", out)


def test_short_nifti(tmp_path):
    path = tmp_path / "x.nii"
    path.write_bytes(nifti_header((4, 4, 4)) + bytes(SHORT))
    packed = tmp_path / "x.nii.gz"
    packed.write_bytes(gzip.compress(nifti_header((4, 4, 4)) + bytes(SHORT)))
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", path, out / "x.npy"], path,
                   r"truncated: the header announces 480 bytes, the file has 470", out)
    assert_refused(["convert", packed, out / "x.npy"], packed,
                   r"truncated: the header announces 480 bytes, the file holds 470 uncompressed", out)


def test_short_numpy(tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(npy_header((4, 4, 4)) + bytes(SHORT))
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", path, out / "x.nii"], path, r"truncated: .*", out)
    archive = tmp_path / "x.npz"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("image.npy", npy_header((4, 4, 4)) + bytes(SHORT))
    assert_refused(["convert", archive, out / "x.nii"], archive, r"entry image\.npy holds 246 bytes, but its header announces 256", out)


def test_short_dicom_pixel_data(tmp_path):
    """A file cut inside its pixel data, and one whose Pixel Data holds fewer bytes than Rows × Columns."""
    folder = tmp_path / "in"
    paths = write_series(folder, SeriesSpec(values=pattern(3, 8, 8)))
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[:-10])
    out = tmp_path / "out"
    out.mkdir()
    assert_refused(["convert", folder, out / "x.nii"], paths[1], r"pixel data truncated: 118 of 128 bytes present", out)
    short = tmp_path / "short"
    paths = write_series(short, SeriesSpec(values=pattern(3, 8, 8)))
    dataset = pydicom.dcmread(paths[1])
    dataset.PixelData = dataset.PixelData[:-10]
    dataset.save_as(paths[1])
    assert_refused(["convert", short, out / "x.nii"], paths[1],
                   r"pixel data hold 118 bytes, 128 needed for 1 frame\(s\) of 8×8 .+", out)
