"""`medvol export` and `medvol preview`: 8-bit pictures checked pixel by pixel.

Windowing against an independent implementation of PS3.3 C.11.2 (LINEAR with c − 0.5 and w − 1,
LINEAR_EXACT, SIGMOID, VOI LUT Sequence), MONOCHROME1 inversion, RGB and palette colour, reformats that keep
the physical aspect ratio, the radiological orientation of every view for volumes stored in any orientation,
file naming, atomic outputs and no overwriting. PNGs are read with Pillow and their chunks checked with zlib.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image
from pydicom.dataset import Dataset

from dicom_fixtures import SeriesSpec, pattern, write_series
from oracles import sitk_image
from viewing_fixtures import (linear_exact_window, linear_window, png_chunks, sigmoid_window, world_to_stored,
                              write_image)

HU = (np.arange(16 * 32, dtype=np.int16) - 200).reshape(16, 32)     # −200 … 311 across the picture


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image)


def export_one(medvol, tmp_path, source, *options) -> np.ndarray:
    out = tmp_path / "out"
    medvol("export", source, out, *options)
    files = sorted(out.rglob("*.png"))
    assert len(files) == 1, files
    return read_png(files[0])


# MARK: Windows

def test_explicit_window_follows_the_standard_formula(medvol, tmp_path):
    source = write_image(tmp_path / "ct.dcm", HU)
    picture = export_one(medvol, tmp_path, source, "--window", "40,400")
    assert picture.shape == HU.shape and picture.dtype == np.uint8
    assert np.array_equal(picture, linear_window(HU, 40, 400))
    at = lambda hu: picture[np.where(HU == hu)][0]
    assert at(40) in (127, 128)
    assert at(-160) == 0 and at(-200) == 0          # x ≤ c − 0.5 − (w − 1)/2: black
    assert at(240) == 255 and at(311) == 255        # x > c − 0.5 + (w − 1)/2: white
    assert 0 < at(-159) < 5 and at(238) == 254 and at(239) == 255   # the ramp runs over −159.5 … 239


def test_the_files_window_presets_and_window_index(medvol, tmp_path):
    source = write_image(tmp_path / "ct.dcm", HU, WindowCenter=["40", "-600"], WindowWidth=["400", "1500"],
                         WindowCenterWidthExplanation=["ABDOMEN", "LUNG"])
    assert np.array_equal(export_one(medvol, tmp_path / "a", source), linear_window(HU, 40, 400))
    assert np.array_equal(export_one(medvol, tmp_path / "b", source, "--window-index", "2"), linear_window(HU, -600, 1500))
    assert np.array_equal(export_one(medvol, tmp_path / "c", source, "--preset", "brain"), linear_window(HU, 40, 80))
    assert np.array_equal(export_one(medvol, tmp_path / "d", source, "--window", "-50,150"), linear_window(HU, -50, 150))
    wrong = medvol("export", source, tmp_path / "e", "--window-index", "3", check=False)
    assert wrong.returncode == 1 and "holds 2 windows" in wrong.stderr


@pytest.mark.parametrize("name, center, width", [(p, c, w) for p, c, w in [
    ("brain", 40, 80), ("subdural", 75, 215), ("stroke", 40, 40), ("lung", -600, 1500), ("mediastinum", 50, 350),
    ("abdomen", 40, 400), ("liver", 60, 150), ("bone", 400, 1800)]])
def test_presets(medvol, tmp_path, name, center, width):
    values = (np.arange(64 * 64, dtype=np.int16) - 1500).reshape(64, 64)
    source = write_image(tmp_path / "ct.dcm", values)
    assert np.array_equal(export_one(medvol, tmp_path, source, "--preset", name), linear_window(values, center, width))


@pytest.mark.parametrize("function, formula", [("LINEAR_EXACT", linear_exact_window), ("SIGMOID", sigmoid_window)])
def test_voi_lut_function(medvol, tmp_path, function, formula):
    source = write_image(tmp_path / "ct.dcm", HU, WindowCenter="40", WindowWidth="400", VOILUTFunction=function)
    assert np.array_equal(export_one(medvol, tmp_path, source), formula(HU, 40, 400))


def test_voi_lut_sequence(medvol, tmp_path):
    values = np.arange(16 * 32, dtype=np.uint16).reshape(16, 32)       # 0 … 511
    item = Dataset()
    item.LUTDescriptor = [256, 100, 12]                                 # 256 entries from 100, 12 bits
    item.LUTData = (np.arange(256) * 16).astype("<u2").tobytes()
    item.LUTExplanation = "ramp"
    source = write_image(tmp_path / "mr.dcm", values, VOILUTSequence=[item])
    entries = np.arange(256) * 16
    expected = np.floor(entries[np.clip(values.astype(int) - 100, 0, 255)] / 4095 * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(export_one(medvol, tmp_path, source), expected)


def test_no_window_uses_the_volumes_range(medvol, tmp_path):
    source = write_image(tmp_path / "ct.dcm", HU)
    picture = export_one(medvol, tmp_path, source)
    assert picture.min() == 0 and picture.max() == 255
    assert np.array_equal(picture, linear_exact_window(HU, (-200 + 311) / 2, 511))


def test_monochrome1_is_inverted(medvol, tmp_path):
    source = write_image(tmp_path / "cr.dcm", HU, photometric="MONOCHROME1", WindowCenter="40", WindowWidth="400")
    assert np.array_equal(export_one(medvol, tmp_path, source), 255 - linear_window(HU, 40, 400))


def test_rgb_is_written_in_colour(medvol, tmp_path):
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, size=(12, 20, 3), dtype=np.uint8)
    source = write_image(tmp_path / "rgb.dcm", rgb, photometric="RGB")
    picture = export_one(medvol, tmp_path, source)
    assert picture.shape == (12, 20, 3) and np.array_equal(picture, rgb)
    with Image.open(next((tmp_path / "out").glob("*.png"))) as image:
        assert image.mode == "RGB"


def test_palette_colour_is_written_in_colour(medvol, tmp_path):
    indices = (np.arange(8 * 16) % 256).astype(np.uint8).reshape(8, 16)
    red = (np.arange(256) * 257).astype(np.uint16)
    green = (65535 - np.arange(256) * 257).astype(np.uint16)
    blue = ((np.arange(256) * 97 % 256) * 257).astype(np.uint16)
    source = write_image(tmp_path / "pal.dcm", indices, photometric="PALETTE COLOR",
                         RedPaletteColorLookupTableDescriptor=[256, 0, 16],
                         GreenPaletteColorLookupTableDescriptor=[256, 0, 16],
                         BluePaletteColorLookupTableDescriptor=[256, 0, 16],
                         RedPaletteColorLookupTableData=red.astype("<u2").tobytes(),
                         GreenPaletteColorLookupTableData=green.astype("<u2").tobytes(),
                         BluePaletteColorLookupTableData=blue.astype("<u2").tobytes())
    picture = export_one(medvol, tmp_path, source)
    expected = np.stack([red[indices], green[indices], blue[indices]], axis=-1) / 65535 * 255
    assert picture.shape == (8, 16, 3)
    assert np.array_equal(picture, np.floor(expected + 0.5).astype(np.uint8))


def test_bad_windows_are_bad_usage(medvol, tmp_path):
    source = write_image(tmp_path / "ct.dcm", HU)
    for options in (["--window", "40"], ["--window", "40,0"], ["--preset", "heart"], ["--window", "40,400", "--preset", "lung"]):
        result = medvol("export", source, tmp_path / "out", *options, check=False)
        assert result.returncode == 2 and result.stderr.startswith("medvol: error: "), (options, result)
    assert not (tmp_path / "out").exists()


# MARK: Reformats: orientation and aspect

WORLD_SHAPE = (5, 6, 7)      # x: right → left, y: anterior → posterior, z: inferior → superior


def world() -> np.ndarray:
    x, y, z = np.meshgrid(*(np.arange(n) for n in WORLD_SHAPE), indexing="ij")
    values = (x * 7 + y * 41 + z * 29) % 200 + 20
    values[0, 0, -1] = 255            # a marker at the patient's right, anterior, superior corner
    return values.astype(np.int16)


# Directions (columns: LPS unit vectors of i, j, k) of volumes stored in different planes.
ORIENTATIONS = {
    "axial-LPS": np.eye(3),
    "sagittal-PIR": np.array([[0, 0, -1], [1, 0, 0], [0, -1, 0]], float),
    "coronal-LIP": np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], float),
    "axial-RPI": np.array([[-1, 0, 0], [0, 1, 0], [0, 0, -1]], float),
}


def expected_views(w: np.ndarray) -> dict[str, list[np.ndarray]]:
    nx, ny, nz = w.shape
    return {
        # axial: right on the left, anterior at the top; inferior → superior
        "axial": [w[:, :, z].T for z in range(nz)],
        # coronal: right on the left, superior at the top; anterior → posterior
        "coronal": [w[:, y, ::-1].T for y in range(ny)],
        # sagittal: anterior on the left, superior at the top; right → left
        "sagittal": [w[x, :, ::-1].T for x in range(nx)],
    }


def exported(folder: Path) -> list[np.ndarray]:
    """Pictures named by number, in that order."""
    files = sorted(folder.glob("*.png"), key=lambda p: int(p.stem))
    return [read_png(f) for f in files]


def write_mhd(path: Path, stored: np.ndarray, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0), direction=np.eye(3)) -> Path:
    sitk.WriteImage(sitk_image(stored, spacing, origin, direction), str(path))
    return path


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_reformats_are_oriented_radiologically(medvol, tmp_path, orientation):
    direction = ORIENTATIONS[orientation]
    w = world()
    stored, origin = world_to_stored(w, direction)
    source = write_mhd(tmp_path / "v.mhd", stored, origin=origin, direction=direction)
    views = expected_views(w)
    for plane in ("coronal", "sagittal"):
        medvol("export", source, tmp_path / plane, "--axis", plane, "--window", "128,256")   # grey = value
        pictures = exported(tmp_path / plane)
        assert len(pictures) == len(views[plane])
        for n, (picture, expected) in enumerate(zip(pictures, views[plane])):
            assert np.array_equal(picture, expected), f"{orientation} {plane} picture {n}"
        assert pictures[0][0, 0] == 255, "the right/anterior/superior marker is at the top left of the first picture"
    medvol("export", source, tmp_path / "axial", "--axis", "axial", "--window", "128,256")
    pictures = exported(tmp_path / "axial")
    if orientation.startswith("axial"):
        # Stored axially: the stored slices, each as stored (rows from the top), in stored order.
        assert [p.tolist() for p in pictures] == [stored[k].tolist() for k in range(stored.shape[0])]
    else:
        assert all(np.array_equal(p, e) for p, e in zip(pictures, views["axial"])) and len(pictures) == w.shape[2]
        assert pictures[-1][0, 0] == 255, "marker at the top left of the most superior axial picture"
    # Without --axis: the stored slices.
    medvol("export", source, tmp_path / "stored", "--window", "128,256")
    assert [p.tolist() for p in exported(tmp_path / "stored")] == [stored[k].tolist() for k in range(stored.shape[0])]


def test_dicom_sagittal_series_reformats_like_the_volume(medvol, tmp_path):
    direction = ORIENTATIONS["sagittal-PIR"]
    w = world()
    stored, origin = world_to_stored(w, direction)
    write_series(tmp_path / "dicom", SeriesSpec(values=stored, spacing=(1.0, 1.0, 1.0), origin=tuple(origin),
                                                row=tuple(direction[:, 0]), column=tuple(direction[:, 1])))
    views = expected_views(w)
    for plane in ("axial", "coronal", "sagittal"):
        medvol("export", tmp_path / "dicom", tmp_path / plane, "--axis", plane, "--window", "128,256")
        pictures = exported(tmp_path / plane)
        assert len(pictures) == len(views[plane])
        assert all(np.array_equal(p, e) for p, e in zip(pictures, views[plane])), plane


def test_reformats_keep_the_physical_aspect_ratio(medvol, tmp_path):
    nx, ny, nz = 40, 30, 10
    stored = np.broadcast_to((np.arange(nz) * 10).astype(np.int16)[:, None, None], (nz, ny, nx)).copy()
    source = write_mhd(tmp_path / "v.mhd", stored, spacing=(0.5, 0.5, 2.0))
    sizes = {}
    for plane in ("axial", "coronal", "sagittal"):
        out = tmp_path / plane
        medvol("export", source, out, "--axis", plane, "--window", "128,256")
        files = list(out.glob("*.png"))
        with Image.open(files[0]) as image:
            sizes[plane] = (image.size, len(files))
    assert sizes["axial"] == ((40, 30), 10)
    assert sizes["coronal"] == ((40, 40), 30)       # 10 slices of 2 mm → 40 rows of 0.5 mm: 4 rows per slice
    assert sizes["sagittal"] == ((30, 40), 40)
    coronal = read_png(tmp_path / "coronal" / "1.png")
    column = coronal[:, 0].astype(float)
    # Linear interpolation between slice values, superior (k = 9, value 90) at the top.
    t = np.clip((np.arange(40) + 0.5) * 10 / 40 - 0.5, 0, 9)
    assert np.array_equal(column, np.floor(10 * (9 - t) + 0.5))
    assert column[0] == 90 and column[-1] == 0


# MARK: Files

def test_pngs_are_valid_and_exactly_sized(medvol, tmp_path):
    source = write_image(tmp_path / "ct.dcm", HU)
    out = tmp_path / "out"
    medvol("export", source, out)
    path = next(out.glob("*.png"))
    chunks = png_chunks(path)
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height = int.from_bytes(chunks[0][1][:4], "big"), int.from_bytes(chunks[0][1][4:8], "big")
    assert (width, height) == (32, 16) and chunks[0][1][8:10] == b"\x08\x00"     # 8-bit greyscale
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size == (32, 16) and image.mode == "L"


def test_jpeg_output(medvol, tmp_path):
    values = (np.add.outer(np.arange(64), np.arange(64)) * 8 - 200).astype(np.int16)
    source = write_image(tmp_path / "ct.dcm", values)
    medvol("export", source, tmp_path / "jpg", "--format", "jpg", "--window", "40,400", "--quality", "95")
    path = next((tmp_path / "jpg").glob("*.jpg"))
    with Image.open(path) as image:
        assert image.format == "JPEG" and image.size == (64, 64) and image.mode == "L"
        picture = np.asarray(image).astype(int)
    assert np.abs(picture - linear_window(values, 40, 400).astype(int)).mean() < 3


def test_single_series_named_by_instance_number(medvol, tmp_path):
    values = pattern(3, 8, 10)
    write_series(tmp_path / "dicom", SeriesSpec(values=values, instance_numbers=[30, 10, 20], spacing=(0.7, 0.7, 2.5)))
    medvol("export", tmp_path / "dicom", tmp_path / "out", "--window", "0,4000")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["10.png", "20.png", "30.png"]
    for k, number in enumerate([30, 10, 20]):
        assert np.array_equal(read_png(tmp_path / "out" / f"{number}.png"), linear_window(values[k], 0, 4000))
    # Pixels 0.8 mm wide and 0.6 mm high are shown with their aspect: 10 columns become 13 of 0.6 mm.
    write_series(tmp_path / "wide", SeriesSpec(values=values, spacing=(0.8, 0.6, 2.5)))
    medvol("export", tmp_path / "wide", tmp_path / "wide_out")
    with Image.open(tmp_path / "wide_out" / "1.png") as image:
        assert image.size == (13, 8)


def test_several_series_laid_out_by_patient_date_series(medvol, tmp_path):
    write_series(tmp_path / "in" / "a", SeriesSpec(values=pattern(2, 4, 4), series_number=5, patient_id="P1", study_date="20240101"))
    write_series(tmp_path / "in" / "b", SeriesSpec(values=pattern(3, 4, 4), series_number=6, patient_id="P2", study_date="20240202"))
    medvol("export", tmp_path / "in", tmp_path / "out")
    found = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.png"))
    assert found == ["P1/20240101/5/1.png", "P1/20240101/5/2.png",
                     "P2/20240202/6/1.png", "P2/20240202/6/2.png", "P2/20240202/6/3.png"]
    medvol("export", tmp_path / "in", tmp_path / "named", "--name", "{SeriesNumber}-{Slice}", "--series", "2")
    assert sorted(p.name for p in (tmp_path / "named").iterdir()) == ["6-1.png", "6-2.png", "6-3.png"]


def test_mosaic_slices_sharing_an_instance_number_get_distinct_names(medvol, tmp_path, shared_data):
    folder = shared_data / "dcm_qa_orientation" / "In" / "Orientation" / "ax" / "axasc35"
    medvol("export", folder, tmp_path / "out", "--volume", "2")
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert len(names) == 35 and "2_01.png" in names and "2_35.png" in names


def test_no_overwrite_and_no_partial_output(medvol, tmp_path):
    source = write_image(tmp_path / "ct.dcm", HU)
    out = tmp_path / "out"
    medvol("export", source, out, "--window", "40,400")
    path = next(out.glob("*.png"))
    before = path.read_bytes()
    again = medvol("export", source, out, "--window", "-600,1500", check=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert path.read_bytes() == before
    assert sorted(os.listdir(out)) == [path.name], "nothing left behind"
    medvol("export", source, out, "--window", "-600,1500", "--overwrite")
    assert np.array_equal(read_png(path), linear_window(HU, -600, 1500))


def test_non_dicom_inputs(medvol, tmp_path):
    stored = (np.arange(4 * 5 * 6) % 200).astype(np.uint8).reshape(4, 5, 6)
    np.save(tmp_path / "v.npy", stored)
    medvol("export", tmp_path / "v.npy", tmp_path / "npy", "--window", "128,256")
    assert [p.tolist() for p in exported(tmp_path / "npy")] == [stored[k].tolist() for k in range(4)]
    nifti = tmp_path / "v.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(stored.astype(np.int16)), str(nifti))
    medvol("export", nifti, tmp_path / "nii", "--window", "128,256")
    assert len(list((tmp_path / "nii").glob("*.png"))) == 4


def test_4d_exports_every_volume_or_the_one_asked_for(medvol, tmp_path):
    series = tmp_path / "dicom"
    values = pattern(2, 4, 4)
    # A slice spacing of 0 puts the four images at one position: four volumes of one slice.
    write_series(series, SeriesSpec(values=np.concatenate([values, values + 100]), instance_numbers=[1, 2, 3, 4],
                                    spacing=(1.0, 1.0, 0.0)))
    assert medvol("info", series, "--json").json()["size"] == [4, 4, 1, 4]
    medvol("export", series, tmp_path / "all")
    assert len(list((tmp_path / "all").glob("*.png"))) == 4
    medvol("export", series, tmp_path / "one", "--volume", "3")
    assert len(list((tmp_path / "one").glob("*.png"))) == 1


# MARK: Preview

def panel_boxes(picture: np.ndarray, value: int) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (x0, y0, x1, y1) of the runs of columns holding `value` above the caption."""
    grey = picture if picture.ndim == 2 else picture[..., 0]
    mask = grey == value
    columns = np.where(mask.any(axis=0))[0]
    boxes, start = [], columns[0]
    for a, b in zip(columns, list(columns[1:]) + [None]):
        if b is None or b != a + 1:
            rows = np.where(mask[:, start:a + 1].any(axis=1))[0]
            boxes.append((start, rows[0], a + 1, rows[-1] + 1))
            start = b
    return boxes


def test_preview_shows_three_planes_with_their_aspect(medvol, tmp_path):
    stored = np.full((10, 30, 40), 100, np.int16)                  # 20 × 15 × 20 mm
    source = write_mhd(tmp_path / "v.mhd", stored, spacing=(0.5, 0.5, 2.0))
    out = tmp_path / "preview.png"
    medvol("preview", source, out, "--window", "128,256")
    picture = read_png(out)
    boxes = panel_boxes(picture, 100)
    assert len(boxes) == 3, boxes
    ratios = [(x1 - x0) / (y1 - y0) for x0, y0, x1, y1 in boxes]
    assert ratios == pytest.approx([20 / 15, 20 / 20, 15 / 20], rel=0.02)      # axial, coronal, sagittal
    assert max(max(x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes) >= 256
    caption = picture[max(y1 for *_, y1 in boxes):]
    assert (caption == 255).sum() > 100, "a caption in white under the panels"


def test_preview_of_real_mosaic_series(medvol, tmp_path, shared_data):
    folder = shared_data / "dcm_qa_orientation" / "In" / "Orientation" / "sag" / "sagasc35"
    out = tmp_path / "sag.png"
    result = medvol("preview", folder, out)
    assert "64×64×35×2 (volume 1 shown) · 3.25×3.25×3.6 mm · uint16 · PIR" in result.stderr
    with Image.open(out) as image:
        image.verify()


def test_preview_of_4d_shows_the_first_volume(medvol, tmp_path):
    import nibabel as nib
    data = np.zeros((8, 8, 8, 2), np.int16)
    data[..., 0] = 50
    data[..., 1] = 200
    path = tmp_path / "v.nii"
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    medvol("preview", path, tmp_path / "p.png", "--window", "128,256")
    picture = read_png(tmp_path / "p.png")
    assert len(panel_boxes(picture, 50)) == 3 and not (picture == 200).any()


def test_preview_inverts_monochrome1_and_never_overwrites(medvol, tmp_path):
    source = write_image(tmp_path / "cr.dcm", np.full((20, 20), 100, np.int16), photometric="MONOCHROME1")
    out = tmp_path / "p.png"
    medvol("preview", source, out, "--window", "128,256")
    assert len(panel_boxes(read_png(out), 255 - 100)) == 3
    before = out.read_bytes()
    again = medvol("preview", source, out, "--preset", "lung", check=False)
    assert again.returncode == 1 and "already exists" in again.stderr and out.read_bytes() == before
    medvol("preview", source, out, "--preset", "lung", "--overwrite")
    assert out.read_bytes() != before
    assert sorted(os.listdir(tmp_path)) == ["cr.dcm", "p.png"], "no temporary files left"
    bad = medvol("preview", source, tmp_path / "p.gif", check=False)
    assert bad.returncode == 2


def test_dicomdir_with_several_series(medvol, tmp_path):
    import pydicom
    from pydicom.fileset import FileSet
    sources = tmp_path / "sources"
    a = write_series(sources / "a", SeriesSpec(values=pattern(2, 4, 4), series_number=2, patient_id="P9", study_date="20230405"))
    b = write_series(sources / "b", SeriesSpec(values=pattern(3, 4, 4), series_number=4, patient_id="P9", study_date="20230405"))
    fileset = FileSet()
    for path in a + b:
        ds = pydicom.dcmread(path)
        ds.StudyTime, ds.StudyID = "120000", "1"          # needed for the DICOMDIR's study record
        fileset.add(ds)
    fileset.write(tmp_path / "media")
    medvol("export", tmp_path / "media" / "DICOMDIR", tmp_path / "out")
    found = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.png"))
    assert found == ["P9/20230405/2/1.png", "P9/20230405/2/2.png",
                     "P9/20230405/4/1.png", "P9/20230405/4/2.png", "P9/20230405/4/3.png"]


def test_enhanced_multiframe_window_from_the_functional_groups(medvol, tmp_path):
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    frames = np.stack([HU + 100 * k for k in range(3)]).astype(np.int16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"          # Enhanced CT Image Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientID, ds.StudyDate = "CT", "ENH1", "20240303"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SeriesNumber = generate_uid(), generate_uid(), 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.NumberOfFrames = 3
    ds.Rows, ds.Columns = HU.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1

    def item(**values):
        group = Dataset()
        for key, value in values.items():
            setattr(group, key, value)
        return group

    shared = item(PixelMeasuresSequence=[item(PixelSpacing=[1, 1], SliceThickness=1)],
                  PlaneOrientationSequence=[item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])],
                  FrameVOILUTSequence=[item(WindowCenter="40", WindowWidth="400")],
                  PixelValueTransformationSequence=[item(RescaleIntercept=0, RescaleSlope=1, RescaleType="HU")])
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.PerFrameFunctionalGroupsSequence = [item(PlanePositionSequence=[item(ImagePositionPatient=[0, 0, k])])
                                           for k in range(3)]
    ds.PixelData = frames.astype("<i2").tobytes()
    path = tmp_path / "enhanced.dcm"
    ds.save_as(path, enforce_file_format=True)
    medvol("export", path, tmp_path / "out")
    for k in range(3):
        assert np.array_equal(read_png(tmp_path / "out" / f"{k + 1}.png"), linear_window(frames[k], 40, 400))
