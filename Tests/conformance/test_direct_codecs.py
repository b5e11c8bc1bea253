"""JPEG-LS (CharLS) and JPEG 2000 (OpenJPEG), called directly, give what GDCM's decoders gave.

GDCM's result is taken from Debian's GDCM 3.0.21 itself: `gdcmconv --raw` decompresses every file (with
its JPEG-LS and JPEG 2000 codecs) to explicit little endian, which medvol then reads natively. medvol's
reading of the compressed files must equal it voxel for voxel — and pydicom + pylibjpeg's, which
`test_transfer_syntaxes.py` checks for the same series. Also on the JPEG 2000 Siemens mosaics of
`../shared/data/dcm_qa_orientation/In/Orientation/axmb`.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest

from pixel_fixtures import GDCMCONV, assert_voxels_equal, medvol_volume, pydicom_volume
from test_transfer_syntaxes import MATRIX, SeriesLibrary, _planar_configuration_is_irrelevant_for_j2k

DIRECT = [(source, encoder) for encoder, syntax, sources, _ in MATRIX
          if syntax in ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90",
                        "1.2.840.10008.1.2.4.91")
          for source in sources]


def gdcm_raw(folder: Path, target: Path) -> Path:
    """Every file of `folder` decompressed by GDCM 3.0.21 (`gdcmconv --raw`)."""
    target.mkdir(parents=True)
    for path in sorted(folder.iterdir()):
        subprocess.run([GDCMCONV, "--raw", str(path), str(target / path.name)], check=True, capture_output=True)
        assert pydicom.dcmread(target / path.name, stop_before_pixels=True).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    return target


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> SeriesLibrary:
    return SeriesLibrary(tmp_path_factory.mktemp("direct-codecs"))


def test_the_cases_cover_both_codecs_and_colour():
    encoders = {encoder for _, encoder in DIRECT}
    assert {"jpegls_gdcm", "jpegls_line", "jpegls_none", "jpegls_near_gdcm", "j2k_gdcm", "j2k_pydicom",
            "j2k_lossy_gdcm"} <= encoders
    assert {"ct_int16", "ct_uint12", "mono8", "rgb8", "rgb8_planar", "rgb16"} <= {source for source, _ in DIRECT}


@pytest.mark.parametrize("source,encoder", [pytest.param(s, e, id=f"{s}-{e}") for s, e in DIRECT])
def test_voxels_equal_gdcms_decoding(library, medvol, tmp_path, source, encoder):
    folder = library.encoded(source, encoder)
    actual, sidecar = medvol_volume(medvol, folder, tmp_path / "direct")
    if encoder.startswith("j2k") and "rgb" in source:
        # GDCM 3.0.21 keeps Planar Configuration 1 when it decompresses a planar-labelled J2K file although
        # it writes interleaved pixels (PS3.5 8.2.4: the attribute is irrelevant for J2K); the oracle
        # corrects the label, as for pydicom.
        raw = gdcm_raw(folder, tmp_path / "gdcm")
        for path in raw.iterdir():
            ds = pydicom.dcmread(path)
            if ds.get("PlanarConfiguration", 0) == 1 and ds.get("PhotometricInterpretation") in ("RGB", "YBR_RCT", "YBR_ICT"):
                ds.PlanarConfiguration = 0
                ds.save_as(path)
    else:
        raw = gdcm_raw(folder, tmp_path / "gdcm")
    expected, _ = medvol_volume(medvol, raw, tmp_path / "gdcm-out")
    assert actual.dtype == expected.dtype
    assert_voxels_equal(actual, expected, f"{source} as {encoder} against GDCM's decoding")
    pydicom_expected = pydicom_volume(folder, prepare=_planar_configuration_is_irrelevant_for_j2k)
    assert_voxels_equal(actual, pydicom_expected, f"{source} as {encoder} against pydicom")


def test_siemens_jpeg2000_mosaics(medvol, tmp_path, shared_data):
    """dcm_qa_orientation's AxInt36mb: two JPEG 2000 Siemens multiband mosaics (a 4D series)."""
    folder = shared_data / "dcm_qa_orientation" / "In" / "Orientation" / "axmb" / "AxInt36mb"
    files = sorted(folder.iterdir())
    assert len(files) == 2
    assert all(pydicom.dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.90" for p in files)
    actual, sidecar = medvol_volume(medvol, folder, tmp_path / "direct")
    expected, expected_sidecar = medvol_volume(medvol, gdcm_raw(folder, tmp_path / "gdcm"), tmp_path / "gdcm-out")
    assert sidecar["size"] == expected_sidecar["size"] and actual.dtype == expected.dtype
    assert_voxels_equal(actual, expected, "axmb against GDCM's decoding")
    # pydicom's mosaic pixels equal GDCM's, file by file (medvol cuts each mosaic into its slices, so the
    # uncut mosaic is compared through GDCM's decompressed copy), and medvol's reading of each file alone.
    for path in files:
        ds = pydicom.dcmread(path)
        ds.pixel_array_options(decoding_plugin="pylibjpeg")
        mosaic = ds.pixel_array
        single = tmp_path / f"single-{path.name}"
        single.mkdir()
        (single / path.name).write_bytes(path.read_bytes())
        raw = gdcm_raw(single, tmp_path / f"raw-{path.name}")
        assert np.array_equal(pydicom.dcmread(next(raw.iterdir())).pixel_array, mosaic), "GDCM and pydicom differ"
        one, _ = medvol_volume(medvol, single, tmp_path / f"one-{path.name}")
        reference, _ = medvol_volume(medvol, raw, tmp_path / f"ref-{path.name}")
        assert_voxels_equal(one, reference, path.name)
