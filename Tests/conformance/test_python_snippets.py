"""The Python snippets of docs/python.md, run as written and checked against nibabel's and SimpleITK's own readers.

Every ```python block of the page is executed, in order, in one namespace. The first block only names the inputs
(`medvol`, `series_dir`, `series_4d`, `rgb_input`, `out_dir`); the test runs it, then replaces those with its own:
a `medvol phantom` series or an oblique pydicom series, a 4D and an RGB MetaImage made with SimpleITK. Then:

- the nibabel image built from the .npy has the affine (1e-5) and the voxels (exactly) of nibabel's reading of
  medvol's .nii.gz and of SimpleITK's .nii of the same series;
- the SimpleITK image built from the .npy equals `sitk.ReadImage` of the DICOM series and of medvol's .mhd:
  voxels and pixel type exactly, spacing, origin and direction within 1e-5;
- the same for the 4D and the RGB snippets, the .npz snippet and the write-back snippet.

The DocC article UsingVolumesFromPython.md carries a shorter copy of the snippets (DocC cannot link to docs/);
its blocks are run too, in a folder holding the names they use (`CT`, `bold.mha`, `colour.mha`), with medvol on
PATH, and checked the same way.

The last tests break the page on purpose (a wrong transpose, no LPS → RAS flip, a 4D array without
isVector=False) and require these checks to fail.
"""
from __future__ import annotations

import ast
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, medvol_binary, run_medvol
from dicom_fixtures import SeriesSpec, oblique_axes, pattern, write_series
from oracles import rotation, sitk_image

sitk = pytest.importorskip("SimpleITK")
nib = pytest.importorskip("nibabel")

PAGE = ROOT / "docs" / "python.md"
ARTICLE = ROOT / "Sources" / "MedVol" / "MedVol.docc" / "UsingVolumesFromPython.md"
PLACEHOLDERS = {"medvol", "series_dir", "series_4d", "rgb_input", "out_dir"}
TOLERANCE = 1e-5


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def page_blocks() -> list[str]:
    blocks = python_blocks(PAGE.read_text())
    assert len(blocks) >= 6, f"{PAGE}: expected the placeholder block and the snippets, found {len(blocks)} blocks"
    return blocks


def check_placeholder_block(block: str):
    """The first block imports and assigns the placeholders, nothing else (so replacing them loses nothing)."""
    assigned = set()
    for statement in ast.parse(block).body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        assert isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
            and isinstance(statement.targets[0], ast.Name), f"placeholder block: unexpected {ast.unparse(statement)}"
        assigned.add(statement.targets[0].id)
    assert assigned == PLACEHOLDERS, f"placeholder block assigns {sorted(assigned)}, expected {sorted(PLACEHOLDERS)}"


def run_page(blocks: list[str], inputs: dict) -> dict:
    check_placeholder_block(blocks[0])
    namespace = {"__name__": "python_md"}
    exec(compile(blocks[0], f"{PAGE.name} block 1", "exec"), namespace)
    namespace.update(inputs)
    for number, block in enumerate(blocks[1:], start=2):
        exec(compile(block, f"{PAGE.name} block {number}", "exec"), namespace)
    return namespace


# Inputs ------------------------------------------------------------------------------------------------------------

def phantom_series(folder: Path) -> Path:
    run_medvol("phantom", folder, "--size", "20,16,6", "--spacing", "0.7,0.8,1.25", "--quiet")
    return folder


def oblique_series(folder: Path) -> Path:
    row, column = oblique_axes()
    write_series(folder, SeriesSpec(values=pattern(5, 7, 9), spacing=(0.8, 0.6, 2.5), origin=(-100.0, -120.0, 30.0),
                                    row=row, column=column))
    return folder


SERIES = {"phantom": phantom_series, "oblique": oblique_series}


def make_inputs(tmp_path: Path, kind: str) -> dict:
    series_4d = tmp_path / "bold.mha"
    values_4d = (np.arange(3 * 2 * 4 * 5) * 0.37 - 20).astype(np.float32).reshape(3, 2, 4, 5)
    sitk.WriteImage(sitk_image(values_4d, [1.5, 1.25, 3.3], [12.5, -40.25, 77.125], rotation([-2, 1, 0.5], 2.2),
                               time_spacing=2.5), str(series_4d))
    rgb_input = tmp_path / "colour.mha"
    values_rgb = ((np.arange(2 * 3 * 4 * 3) * 37) % 251).astype(np.uint8).reshape(2, 3, 4, 3)
    sitk.WriteImage(sitk_image(values_rgb, [0.3, 0.4, 1.0], [5.0, 6.0, 7.0], rotation([1, 2, 3], 0.7), vector=True),
                    str(rgb_input))
    return {"medvol": medvol_binary(), "series_dir": SERIES[kind](tmp_path / kind), "series_4d": series_4d,
            "rgb_input": rgb_input, "out_dir": tmp_path / "out"}


# Checks ------------------------------------------------------------------------------------------------------------

def series_files(folder: Path) -> list[str]:
    return list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder)))


def assert_close(actual, expected, what: str):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert np.abs(actual - expected).max() <= TOLERANCE, f"{what}: {actual.tolist()} != {expected.tolist()}"


def assert_same_sitk(actual, expected, what: str):
    assert actual.GetDimension() == expected.GetDimension(), \
        f"{what}: dimension {actual.GetDimension()} != {expected.GetDimension()}"
    assert actual.GetSize() == expected.GetSize(), f"{what}: size {actual.GetSize()} != {expected.GetSize()}"
    assert actual.GetPixelIDValue() == expected.GetPixelIDValue(), \
        f"{what}: pixel type {actual.GetPixelIDTypeAsString()} != {expected.GetPixelIDTypeAsString()}"
    assert actual.GetNumberOfComponentsPerPixel() == expected.GetNumberOfComponentsPerPixel(), f"{what}: components"
    assert np.array_equal(sitk.GetArrayFromImage(actual), sitk.GetArrayFromImage(expected)), f"{what}: voxels differ"
    for name in ("GetSpacing", "GetOrigin", "GetDirection"):
        assert_close(getattr(actual, name)(), getattr(expected, name)(), f"{what} {name[3:].lower()}")


def assert_same_nifti(actual, expected, what: str):
    """Affine within 1e-5, voxels (in nibabel's [i, j, k] order) exactly equal."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert_close(actual.affine, expected.affine, f"{what} affine")
    a, e = np.asarray(actual.dataobj), np.asarray(expected.dataobj)
    assert a.dtype == e.dtype, f"{what}: dtype {a.dtype} != {e.dtype}"
    assert np.array_equal(a, e), f"{what}: voxels differ"


def check_results(ns: dict, inputs: dict, scratch: Path):
    series_dir, out_dir = inputs["series_dir"], inputs["out_dir"]
    scratch.mkdir(exist_ok=True)

    # (b) nibabel: medvol's .nii.gz, SimpleITK's .nii, and the file the snippet saved.
    run_medvol("convert", series_dir, scratch / "ct.nii.gz", "--quiet")
    reference = sitk.ReadImage(series_files(series_dir))
    sitk.WriteImage(reference, str(scratch / "ct_sitk.nii"))
    for path in (scratch / "ct.nii.gz", scratch / "ct_sitk.nii"):
        assert_same_nifti(ns["nifti"], nib.load(path), f"nibabel image of the .npy vs {path.name}")
    assert_same_nifti(nib.load(out_dir / "ct_nibabel.nii.gz"), nib.load(scratch / "ct.nii.gz"), "saved ct_nibabel.nii.gz")
    point = np.array(ns["index_to_lps"](3, 2, 1))
    ras = ns["nifti"].affine @ [3, 2, 1, 1]
    assert_close(ras[:3] * [-1, -1, 1], point, "index_to_lps vs the RAS affine")
    assert_close(point, reference.TransformIndexToPhysicalPoint((3, 2, 1)), "index_to_lps vs SimpleITK")

    # (c) SimpleITK: the DICOM series and medvol's .mhd.
    assert_same_sitk(ns["itk_image"], reference, "SimpleITK image of the .npy vs sitk.ReadImage(series)")
    run_medvol("convert", series_dir, scratch / "ct.mhd", "--quiet")
    assert_same_sitk(ns["itk_image"], sitk.ReadImage(str(scratch / "ct.mhd")), "SimpleITK image of the .npy vs ct.mhd")

    # (d) 4D and RGB: their sources as SimpleITK reads them, and medvol's .nii.gz as nibabel reads it.
    assert_same_sitk(ns["bold_itk"], sitk.ReadImage(str(inputs["series_4d"])), "4D SimpleITK image vs its source")
    run_medvol("convert", inputs["series_4d"], scratch / "bold.nii.gz", "--quiet")
    bold_reference = nib.load(scratch / "bold.nii.gz")
    assert_same_nifti(ns["bold_nifti"], bold_reference, "4D nibabel image vs medvol's .nii.gz")
    assert_close(ns["bold_nifti"].header.get_zooms(), bold_reference.header.get_zooms(), "4D zooms")
    assert ns["bold_nifti"].header.get_xyzt_units() == bold_reference.header.get_xyzt_units() == ("mm", "sec")

    assert_same_sitk(ns["rgb_itk"], sitk.ReadImage(str(inputs["rgb_input"])), "RGB SimpleITK image vs its source")
    run_medvol("convert", inputs["rgb_input"], scratch / "rgb.nii.gz", "--quiet")
    nib.save(ns["rgb_nifti"], scratch / "rgb_nibabel.nii.gz")
    for path in (scratch / "rgb.nii.gz", scratch / "rgb_nibabel.nii.gz"):
        assert nib.load(path).header["datatype"] == 128, f"{path.name}: not RGB24"
    assert_same_nifti(ns["rgb_nifti"], nib.load(scratch / "rgb.nii.gz"), "RGB nibabel image vs medvol's .nii.gz")
    assert_same_nifti(nib.load(scratch / "rgb_nibabel.nii.gz"), nib.load(scratch / "rgb.nii.gz"),
                      "RGB .nii.gz saved by nibabel vs medvol's")

    # (e) .npz.
    assert np.array_equal(ns["npz_image"], sitk.GetArrayFromImage(reference)), ".npz voxels"
    assert_close(ns["npz_spacing"], reference.GetSpacing(), ".npz spacing")
    assert_close(ns["npz_origin"], reference.GetOrigin(), ".npz origin")
    assert_close(np.ravel(ns["npz_direction"]), reference.GetDirection(), ".npz direction")

    # Back to medvol: the mask keeps the series' geometry.
    mask = nib.load(out_dir / "mask.nii.gz")
    assert_close(mask.affine, nib.load(scratch / "ct.nii.gz").affine, "mask.nii.gz affine")
    assert np.array_equal(np.asarray(mask.dataobj), ns["mask"].transpose(2, 1, 0)), "mask.nii.gz voxels"
    assert ns["mask"].any() and not ns["mask"].all(), "the mask should be neither empty nor full"


# Tests -------------------------------------------------------------------------------------------------------------

def test_page_has_placeholder_block_first():
    check_placeholder_block(page_blocks()[0])


@pytest.mark.parametrize("kind", sorted(SERIES))
def test_snippets_match_nibabel_and_simpleitk(tmp_path, kind):
    inputs = make_inputs(tmp_path, kind)
    namespace = run_page(page_blocks(), inputs)
    check_results(namespace, inputs, tmp_path / "check")


MUTATIONS = {
    "nibabel without transpose": ("nib.Nifti1Image(image.transpose(2, 1, 0), affine)", "nib.Nifti1Image(image, affine)"),
    "nibabel wrong transpose": ("nib.Nifti1Image(image.transpose(2, 1, 0), affine)",
                                "nib.Nifti1Image(image.transpose(1, 2, 0), affine)"),
    "no LPS to RAS flip": ("np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps", "lps"),
    "affine rows scaled instead of columns": ("direction * spacing", "spacing[:, None] * direction"),
    "SimpleITK transposed": ("sitk.GetImageFromArray(image)", "sitk.GetImageFromArray(image.transpose(2, 1, 0))"),
    "direction column-major": ("itk_image.SetDirection(direction.ravel().tolist())",
                               "itk_image.SetDirection(direction.T.ravel().tolist())"),
    "4D without isVector=False": ("sitk.GetImageFromArray(bold, isVector=False)", "sitk.GetImageFromArray(bold)"),
    "4D nibabel without transpose": ("nib.Nifti1Image(bold.transpose(3, 2, 1, 0),", "nib.Nifti1Image(bold,"),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_broken_page_fails(tmp_path, name):
    """The checks are not vacuous: each of these mistakes in the page makes the test above fail (an assertion, or
    SimpleITK's RuntimeError when the geometry does not fit the image, as for a 4D array read as vectors)."""
    old, new = MUTATIONS[name]
    blocks = page_blocks()
    assert sum(block.count(old) for block in blocks) == 1, f"mutation {name!r}: {old!r} not found once in the page"
    blocks = [block.replace(old, new) for block in blocks]
    inputs = make_inputs(tmp_path, "oblique")
    with pytest.raises((AssertionError, RuntimeError)):
        namespace = run_page(blocks, inputs)
        check_results(namespace, inputs, tmp_path / "check")


def test_docc_article_snippets(tmp_path, monkeypatch):
    """The DocC article's copy of the snippets runs as written and gives the same images."""
    inputs = make_inputs(tmp_path, "oblique")
    work = tmp_path / "article"
    work.mkdir()
    shutil.copytree(inputs["series_dir"], work / "CT")
    shutil.copy(inputs["series_4d"], work / "bold.mha")
    shutil.copy(inputs["rgb_input"], work / "colour.mha")
    monkeypatch.chdir(work)
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(medvol_binary()).resolve().parent), os.environ["PATH"]]))
    blocks = python_blocks(ARTICLE.read_text())
    assert len(blocks) >= 6, f"{ARTICLE.name}: found {len(blocks)} python blocks"
    ns = {"__name__": "article"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"{ARTICLE.name} block {number}", "exec"), ns)

    scratch = tmp_path / "check"
    scratch.mkdir()
    reference = sitk.ReadImage(series_files(work / "CT"))
    run_medvol("convert", work / "CT", scratch / "ct.nii.gz", "--quiet")
    assert_same_nifti(ns["nifti"], nib.load(scratch / "ct.nii.gz"), "article: nibabel image vs medvol's .nii.gz")
    assert_same_sitk(ns["itk_image"], reference, "article: SimpleITK image vs sitk.ReadImage(series)")
    assert_same_sitk(ns["bold_itk"], sitk.ReadImage("bold.mha"), "article: 4D SimpleITK image vs its source")
    run_medvol("convert", "bold.mha", scratch / "bold.nii.gz", "--quiet")
    assert_same_nifti(ns["bold_nifti"], nib.load(scratch / "bold.nii.gz"), "article: 4D nibabel image")
    run_medvol("convert", "colour.mha", scratch / "rgb.nii.gz", "--quiet")
    assert_same_nifti(ns["rgb_nifti"], nib.load(scratch / "rgb.nii.gz"), "article: RGB nibabel image")
    assert np.array_equal(ns["image"], sitk.GetArrayFromImage(reference)), "article: .npz voxels"
    assert_close(np.ravel(ns["direction"]), reference.GetDirection(), "article: .npz direction")
    mask = nib.load(work / "out" / "mask.nii.gz")
    assert_close(mask.affine, nib.load(scratch / "ct.nii.gz").affine, "article: mask.nii.gz affine")
