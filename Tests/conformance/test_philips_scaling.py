"""Philips' private scale (issue 10, item 6): medvol applies the DICOM Modality LUT by default (what
SimpleITK and pydicom give) and, with --scaling philips-precise, dcm2niix's precise value
FP = (SV × RS + RI) / (RS × SS), SS being Scale Slope (2005,xx0E) of "Philips MR Imaging DD 001".
info and the sidecar say which scaling was applied and that the other is available.
"""
import numpy as np
import pytest
from pydicom.dataset import Dataset

from conftest import run_medvol
from dicom_fixtures import SeriesSpec, pattern, write_series
from oracles import load_npy_with_sidecar, sitk_series_in_folder

sitk = pytest.importorskip("SimpleITK")
pydicom = pytest.importorskip("pydicom")

RS, RI, SS = 1.5, -12.0, 0.0734


def philips_series(folder, scale_slope=SS, block=0x10):
    spec = SeriesSpec(values=pattern(6, 16, 20, dtype=np.uint16, low=0, span=4000), modality="MR",
                      slope=RS, intercept=RI)
    paths = write_series(folder, spec)
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.Manufacturer = "Philips Medical Systems"
        ds.add_new((0x2005, block), "LO", "Philips MR Imaging DD 001")
        if scale_slope is not None:
            ds.add_new((0x2005, block << 8 | 0x0E), "FL", scale_slope)
            ds.add_new((0x2005, block << 8 | 0x0D), "FL", 3.25)
        ds.save_as(path)
    return spec


def precise(stored):
    ss = np.float64(np.float32(SS))  # FL: the value as stored
    return (stored.astype(np.float64) * RS + RI) / (RS * ss)


def test_default_is_dicom_scaling_like_simpleitk(tmp_path):
    spec = philips_series(tmp_path / "mr")
    run_medvol("convert", tmp_path / "mr", tmp_path / "d.npy", "--quiet")
    array, info = load_npy_with_sidecar(tmp_path / "d.npy")
    reference = sitk.GetArrayFromImage(sitk_series_in_folder(tmp_path / "mr"))
    assert np.array_equal(array.astype(np.float64), reference.astype(np.float64))
    assert np.array_equal(array.astype(np.float64), spec.values * RS + RI)
    assert info["valueScaling"] == "dicom"
    assert info["otherValueScalings"] == ["philips-precise"]


def test_philips_precise_scaling_matches_dcm2niix_formula(tmp_path):
    spec = philips_series(tmp_path / "mr")
    run_medvol("convert", tmp_path / "mr", tmp_path / "p.npy", "--scaling", "philips-precise", "--quiet")
    array, info = load_npy_with_sidecar(tmp_path / "p.npy")
    assert array.dtype == np.float32
    assert np.allclose(array, precise(spec.values), rtol=1e-6, atol=1e-5)
    assert array[2, 5, 7] == pytest.approx(precise(spec.values)[2, 5, 7], rel=1e-6)
    assert info["valueScaling"] == "philips-precise"
    assert info["otherValueScalings"] == ["dicom"]


def test_info_reports_scaling_and_the_alternative(tmp_path):
    philips_series(tmp_path / "mr")
    text = run_medvol("info", tmp_path / "mr").stdout
    assert "scaling" in text and "dicom (also available: --scaling philips-precise)" in text
    text = run_medvol("info", tmp_path / "mr", "--scaling", "philips-precise").stdout
    assert "philips-precise (also available: --scaling dicom)" in text
    described = run_medvol("info", tmp_path / "mr", "--scaling", "philips-precise", "--json").json()
    assert described["pixelType"] == "float32"


def test_private_block_found_wherever_it_is_reserved(tmp_path):
    spec = philips_series(tmp_path / "mr", block=0x13)
    run_medvol("convert", tmp_path / "mr", tmp_path / "p.npy", "--scaling", "philips-precise", "--quiet")
    array, _ = load_npy_with_sidecar(tmp_path / "p.npy")
    assert np.allclose(array, precise(spec.values), rtol=1e-6, atol=1e-5)


def test_without_private_scale_nothing_changes(tmp_path):
    spec = philips_series(tmp_path / "mr", scale_slope=None)
    run_medvol("convert", tmp_path / "mr", tmp_path / "p.npy", "--scaling", "philips-precise", "--quiet")
    array, info = load_npy_with_sidecar(tmp_path / "p.npy")
    assert np.array_equal(array.astype(np.float64), spec.values * RS + RI)
    assert "valueScaling" not in info
    bad = run_medvol("convert", tmp_path / "mr", tmp_path / "x.npy", "--scaling", "vendor", check=False)
    assert bad.returncode != 0 and "--scaling" in bad.stderr
