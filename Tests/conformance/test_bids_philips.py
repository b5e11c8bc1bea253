"""`--bids` on generated Philips series (pydicom): diffusion from the private Diffusion B-Factor (2001,xx03) and
Diffusion Direction RL/AP/FH (2005,xxB0/B1/B2), which dcm2niix takes as the LPS x, y, z components, checked as
physical directions through the written NIfTI's affine; the isotropic (trace) label (2001,xx04) "I"; the
standard (0018,9087)/(0018,9089) winning over the private elements; and the Philips sidecar fields."""
from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from pydicom.uid import generate_uid

from conftest import run_medvol
from dicom_fixtures import diffusion_slice, oblique_axes

ROW, COLUMN = oblique_axes()
# Oblique gradients (LPS), none along an image axis.
GRADIENTS = [np.array(v) / np.linalg.norm(v) for v in ([0.3, -0.5, 0.81], [-0.7, 0.2, 0.4], [0.1, 0.9, -0.35])]


def write_philips_dwi(folder: Path, encodings, nz=3, standard=None, block_2005=0x10, creator_2005="Philips MR Imaging DD 001",
                      extra=None) -> None:
    """One file per slice and volume. `encodings`: (b, gradient or None, direction label or None) per volume,
    written to the Philips private elements; `standard`: per volume (b, gradient) written to (0018,9087)/(0018,9089)."""
    folder.mkdir(parents=True, exist_ok=True)
    uids = (generate_uid(), generate_uid(), generate_uid())
    for t, (b, g, label) in enumerate(encodings):
        for k in range(nz):
            ds = diffusion_slice(t, k, nz, ROW, COLUMN, uids, "Philips Medical Systems", 801,
                                 ["ORIGINAL", "PRIMARY", "DIFFUSION", "NONE"])
            imaging = ds.private_block(0x2001, "Philips Imaging DD 001", create=True)
            imaging.add_new(0x03, "FL", float(b))
            if label is not None:
                imaging.add_new(0x04, "CS", label)
            ds.add_new((0x2005, block_2005), "LO", creator_2005)
            if g is not None:
                for offset, value in zip((0xB0, 0xB1, 0xB2), g):
                    ds.add_new((0x2005, block_2005 << 8 | offset), "FL", float(value))
            if standard is not None:
                sb, sg = standard[t]
                ds.add_new(0x00189087, "FD", float(sb))
                if sg is not None:
                    ds.add_new(0x00189089, "FD", [float(v) for v in sg])
            if extra:
                extra(ds)
            ds.save_as(folder / f"IM{t:02d}_{k:02d}.dcm", enforce_file_format=True)


def world_gradients(out: Path) -> np.ndarray:
    """The .bvec columns as LPS directions, through the written NIfTI's affine (FSL's x flip undone)."""
    bvec = np.loadtxt(out.with_name("out.bvec"))
    affine = nib.load(str(out)).affine
    rotation = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    vectors = bvec.copy()
    if np.linalg.det(affine[:3, :3]) > 0:
        vectors[0] = -vectors[0]
    return (rotation @ vectors).T * [-1, -1, 1]                # RAS → LPS


def npy_diffusion(source: Path, tmp_path: Path) -> list:
    run_medvol("convert", "--quiet", str(source), str(tmp_path / "vol.npy"))
    return json.loads((tmp_path / "vol.json").read_text())["diffusion"]


@pytest.mark.parametrize("creator", ["Philips MR Imaging DD 001", "Philips MR Imaging DD 004"])
@pytest.mark.parametrize("block", [0x10, 0x13])
def test_private_diffusion_to_bval_bvec_and_npy(tmp_path, creator, block):
    encodings = [(0, None, None)] + [(1000, g, "O") for g in GRADIENTS]
    # Directions written unnormalised: medvol makes them unit length.
    encodings[2] = (1000, GRADIENTS[1] * 2.5, "O")
    write_philips_dwi(tmp_path / "in", encodings, block_2005=block, creator_2005=creator)
    out = tmp_path / "out.nii"
    run_medvol("convert", "--bids", "--quiet", str(tmp_path / "in"), str(out))
    assert np.loadtxt(tmp_path / "out.bval").tolist() == [0, 1000, 1000, 1000]
    world = world_gradients(out)
    assert np.allclose(world[0], 0)
    for g, w in zip(GRADIENTS, world[1:]):
        assert np.allclose(w, g, atol=1e-5), (w, g)        # RL, AP, FH are LPS x, y, z: sign included
    diffusion = npy_diffusion(tmp_path / "in", tmp_path)
    assert [e["bValue"] for e in diffusion] == [0, 1000, 1000, 1000]
    assert np.allclose([e["gradient"] for e in diffusion][1:], GRADIENTS, atol=1e-6)
    sidecar = json.loads((tmp_path / "out.json").read_text())
    assert sidecar["Manufacturer"] == "Philips"


def test_isotropic_trace_volume_has_zero_gradient(tmp_path):
    # The trace volume carries a direction Philips leaves over from the last gradient: "I" overrides it.
    encodings = [(0, None, None), (1000, GRADIENTS[0], "O"), (1000, GRADIENTS[1], "O"), (1000, GRADIENTS[1], "I")]
    write_philips_dwi(tmp_path / "in", encodings)
    out = tmp_path / "out.nii.gz"
    run_medvol("convert", "--bids", "--quiet", str(tmp_path / "in"), str(out))
    assert np.loadtxt(tmp_path / "out.bval").tolist() == [0, 1000, 1000, 1000]
    world = world_gradients(out)
    assert np.allclose(world[1], GRADIENTS[0], atol=1e-5)
    assert np.allclose(world[3], 0) and np.allclose(world[0], 0)
    diffusion = npy_diffusion(tmp_path / "in", tmp_path)
    assert diffusion[3]["bValue"] == 1000 and diffusion[3]["gradient"] == [0, 0, 0]


def test_standard_elements_win_over_the_private_ones(tmp_path):
    private = [(0, None, None), (700, GRADIENTS[0], "O"), (700, GRADIENTS[1], "O")]
    standard = [(0, None), (1500, GRADIENTS[2]), (2500, (0.0, 0.0, 1.0))]
    write_philips_dwi(tmp_path / "in", private, standard=standard)
    out = tmp_path / "out.nii"
    run_medvol("convert", "--bids", "--quiet", str(tmp_path / "in"), str(out))
    assert np.loadtxt(tmp_path / "out.bval").tolist() == [0, 1500, 2500]
    world = world_gradients(out)
    assert np.allclose(world[1], GRADIENTS[2], atol=1e-5)
    assert np.allclose(world[2], [0, 0, 1], atol=1e-5)


def test_standard_b_value_with_private_direction(tmp_path):
    """(0018,9087) present, (0018,9089) absent: the b-value is the standard one, the direction the private one."""
    private = [(0, None, None), (700, GRADIENTS[0], "O")]
    write_philips_dwi(tmp_path / "in", private, standard=[(0, None), (900, None)])
    diffusion = npy_diffusion(tmp_path / "in", tmp_path)
    assert [e["bValue"] for e in diffusion] == [0, 900]
    assert np.allclose(diffusion[1]["gradient"], GRADIENTS[0], atol=1e-6)


RS, RI, SS = 1.25, -4.0, 0.0734


def test_philips_sidecar_fields(tmp_path):
    def extra(ds):
        ds.RescaleSlope, ds.RescaleIntercept = RS, RI
        ds.EchoTrainLength = 37
        ds.private_block(0x2001, "Philips Imaging DD 001").add_new(0x22, "FL", 11.3)
        ds.private_block(0x2005, "Philips MR Imaging DD 001").add_new(0x0E, "FL", SS)
    write_philips_dwi(tmp_path / "in", [(0, None, None), (1000, GRADIENTS[0], "O")], extra=extra)
    out = tmp_path / "out.nii"
    run_medvol("convert", "--bids", "--quiet", str(tmp_path / "in"), str(out))
    sidecar = json.loads((tmp_path / "out.json").read_text())
    assert sidecar["PhilipsRescaleSlope"] == pytest.approx(RS)
    assert sidecar["PhilipsRescaleIntercept"] == pytest.approx(RI)
    assert sidecar["PhilipsScaleSlope"] == pytest.approx(np.float32(SS), rel=1e-7)
    assert sidecar["UsePhilipsFloatNotDisplayScaling"] == 0
    assert sidecar["WaterFatShift"] == pytest.approx(np.float32(11.3), rel=1e-7)
    assert sidecar["EchoTrainLength"] == 37
    run_medvol("convert", "--bids", "--quiet", "--scaling", "philips-precise", str(tmp_path / "in"), str(tmp_path / "p.nii"))
    assert json.loads((tmp_path / "p.json").read_text())["UsePhilipsFloatNotDisplayScaling"] == 1
    run_medvol("convert", "--bids", "--quiet", "--stored-values", str(tmp_path / "in"), str(tmp_path / "s.nii"))
    stored = json.loads((tmp_path / "s.json").read_text())
    assert "UsePhilipsFloatNotDisplayScaling" not in stored and stored["PhilipsScaleSlope"] == pytest.approx(np.float32(SS))


def test_philips_fields_only_for_philips(tmp_path):
    def extra(ds):
        ds.Manufacturer = "ACME"
        ds.EchoTrainLength = 37
        ds.private_block(0x2001, "Philips Imaging DD 001").add_new(0x22, "FL", 11.3)
    write_philips_dwi(tmp_path / "in", [(0, None, None), (1000, GRADIENTS[0], "O")], extra=extra)
    run_medvol("convert", "--bids", "--quiet", str(tmp_path / "in"), str(tmp_path / "out.nii"))
    sidecar = json.loads((tmp_path / "out.json").read_text())
    assert not {"WaterFatShift", "EchoTrainLength", "PhilipsScaleSlope", "PhilipsRescaleSlope"} & set(sidecar)
    # Private Philips diffusion is read for Philips only: no .bval for another manufacturer.
    assert not (tmp_path / "out.bval").exists()
