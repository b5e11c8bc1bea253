"""Conformance of medvol's MetaImage, NIfTI, NRRD and NumPy files, through the command line:

    medvol convert IN OUT [--overwrite] [--compress]      (format from OUT's extension)
    medvol info IN --json

Inputs are made with SimpleITK, nibabel and NumPy; outputs are read back with the same libraries and must
give the same voxels and the same physical geometry (1e-4 mm, 1e-6 in direction; NIfTI stores floats).
"""
import zlib

import numpy as np
import pytest

from oracles import load_npy_with_sidecar, rotation, sitk_image

sitk = pytest.importorskip("SimpleITK")
nib = pytest.importorskip("nibabel")


COORDINATE, DIRECTION = 1e-4, 1e-6
FORMATS = ["mhd", "mha", "nii", "nii.gz", "nrrd", "nhdr", "npy", "npz"]
ITK_FORMATS = ["mhd", "mha", "nii", "nii.gz", "nrrd", "nhdr"]


def pattern(shape, dtype):
    values = (np.arange(int(np.prod(shape))) * 37) % 251
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return (values * 0.37 - 40.5).astype(dtype).reshape(shape)
    if dtype.kind == "i":
        values = values - 125
    return (values * max(1, np.iinfo(dtype).max // 256)).astype(dtype).reshape(shape)


class Case:
    """An image made with SimpleITK: its array (SimpleITK's order), geometry and, for 4D, time spacing."""

    def __init__(self, name, array, spacing, origin, direction, components=1, time_spacing=None):
        self.name, self.array, self.components, self.time_spacing = name, array, components, time_spacing
        self.spacing, self.origin = list(spacing), list(origin)
        self.direction = np.asarray(direction, float)

    def image(self):
        return sitk_image(self.array, self.spacing, self.origin, self.direction, self.time_spacing, vector=self.components > 1)

    @property
    def size(self):
        spatial = self.array.shape[:-1] if self.components > 1 else self.array.shape
        return list(reversed(spatial))


CASES = [
    Case("ct_int16", pattern((4, 5, 7), np.int16), [0.8, 0.65, 2.5], [-123.456789, 98.7654321, -250.125],
         rotation([1, 2, 3], 0.7)),
    Case("mr_uint16", pattern((3, 6, 5), np.uint16), [1.1, 0.9, 4.0], [10.0, -20.0, 30.0], rotation([0, 1, 1], 2.9)),
    Case("float32", pattern((3, 4, 5), np.float32), [0.5, 0.75, 1.5], [0.0, 0.0, 0.0], np.eye(3)),
    Case("float64", pattern((2, 3, 4), np.float64), [2.0, 2.0, 2.0], [1.0, 2.0, 3.0], rotation([3, -1, 2], 1.3)),
    Case("uint8", pattern((2, 3, 4), np.uint8), [1.0, 1.0, 1.0], [-5.0, 5.0, 0.5], rotation([1, 0, 0], np.pi / 2)),
    Case("int32", pattern((2, 3, 4), np.int32), [0.3, 0.3, 0.9], [7.0, 8.0, 9.0], rotation([1, 1, 1], 2.0)),
    Case("rgb", pattern((2, 3, 4, 3), np.uint8), [0.3, 0.3, 1.0], [5.0, 6.0, 7.0], rotation([1, 2, 3], 0.7), components=3),
    Case("fmri_4d", pattern((3, 2, 4, 5), np.float32), [1.5, 1.25, 3.3], [12.5, -40.25, 77.125],
         rotation([-2, 1, 0.5], 2.2), time_spacing=2.5),
]


@pytest.fixture(params=CASES, ids=lambda case: case.name)
def case(request, tmp_path):
    source = tmp_path / f"{request.param.name}.mha"
    sitk.WriteImage(request.param.image(), str(source))
    request.param.source = source
    return request.param


def crc(array):
    return zlib.crc32(np.ascontiguousarray(array).tobytes())


def check_sitk_image(image, case, tolerance=(COORDINATE, DIRECTION)):
    """A SimpleITK image has the case's voxels and geometry."""
    array = sitk.GetArrayFromImage(image)
    assert array.shape == case.array.shape
    assert array.dtype == case.array.dtype
    assert crc(array) == crc(case.array)
    n = image.GetDimension()
    direction = np.array(image.GetDirection()).reshape(n, n)
    np.testing.assert_allclose(image.GetSpacing()[:3], case.spacing, atol=tolerance[0], rtol=0)
    np.testing.assert_allclose(image.GetOrigin()[:3], case.origin, atol=tolerance[0], rtol=0)
    np.testing.assert_allclose(direction[:3, :3], case.direction, atol=tolerance[1], rtol=0)
    if case.time_spacing is not None:
        assert n == 4
        assert image.GetSpacing()[3] == pytest.approx(case.time_spacing)
        np.testing.assert_array_equal(direction[3], [0, 0, 0, 1])


def check_info(info, case):
    """`medvol info --json` describes the case."""
    assert info["size"] == case.size
    assert info["components"] == case.components
    assert info["pixelType"] == case.array.dtype.name
    np.testing.assert_allclose(info["spacing"], case.spacing, atol=COORDINATE, rtol=0)
    np.testing.assert_allclose(info["origin"], case.origin, atol=COORDINATE, rtol=0)
    np.testing.assert_allclose(info["direction"], case.direction.ravel(), atol=DIRECTION, rtol=0)
    if case.time_spacing is not None:
        assert info["timeSpacing"] == pytest.approx(case.time_spacing)


@pytest.mark.parametrize("extension", ITK_FORMATS)
def test_simpleitk_reads_what_medvol_writes(medvol, case, tmp_path, extension):
    output = tmp_path / f"out.{extension}"
    medvol("convert", case.source, output)
    check_sitk_image(sitk.ReadImage(str(output)), case)


@pytest.mark.parametrize("extension", FORMATS)
def test_medvol_reads_back_what_it_writes(medvol, case, tmp_path, extension):
    output = tmp_path / f"out.{extension}"
    medvol("convert", case.source, output)
    check_info(medvol("info", output, "--json").json(), case)
    back = tmp_path / "back.mha"
    medvol("convert", output, back)
    check_sitk_image(sitk.ReadImage(str(back)), case)


@pytest.mark.parametrize("extension", ["mha", "nii.gz", "nrrd"])
def test_info_of_simpleitk_files(medvol, case, tmp_path, extension):
    path = tmp_path / f"sitk.{extension}"
    if case.components > 1 and extension.startswith("nii"):
        pytest.skip("SimpleITK writes colour NIfTI as a vector intent")
    sitk.WriteImage(case.image(), str(path))
    check_info(medvol("info", path, "--json").json(), case)


def test_npy_equals_get_array_from_image(medvol, case, tmp_path):
    medvol("convert", case.source, tmp_path / "out.npy")
    array, sidecar = load_npy_with_sidecar(tmp_path / "out.npy")
    expected = sitk.GetArrayFromImage(sitk.ReadImage(str(case.source)))
    assert array.dtype == expected.dtype
    assert array.shape == expected.shape
    np.testing.assert_array_equal(array, expected)
    check_info(sidecar, case)
    assert sidecar == {key: value for key, value in medvol("info", tmp_path / "out.npy", "--json").json().items()
                       if key in sidecar}


@pytest.mark.parametrize("compress", [False, True])
def test_npz_arrays(medvol, case, tmp_path, compress):
    output = tmp_path / "out.npz"
    medvol("convert", case.source, output, *(["--compress"] if compress else []))
    with np.load(output) as archive:
        np.testing.assert_array_equal(archive["image"], case.array)
        assert archive["spacing"].shape == (3,) and archive["spacing"].dtype == np.float64
        assert archive["direction"].shape == (3, 3) and archive["direction"].dtype == np.float64
        np.testing.assert_allclose(archive["spacing"], case.spacing, atol=1e-12, rtol=0)
        np.testing.assert_allclose(archive["origin"], case.origin, atol=1e-12, rtol=0)
        np.testing.assert_allclose(archive["direction"], case.direction, atol=1e-12, rtol=0)
        if case.time_spacing is not None:
            assert archive["timeSpacing"].shape == ()
            assert float(archive["timeSpacing"]) == case.time_spacing
        else:
            assert "timeSpacing" not in archive.files


@pytest.mark.parametrize("extension", ["nii", "nii.gz"])
def test_nibabel_sees_the_same_physical_space(medvol, case, tmp_path, extension):
    output = tmp_path / f"out.{extension}"
    medvol("convert", case.source, output)
    image = nib.load(str(output))
    lps = np.eye(4)
    lps[:3, :3] = case.direction * np.asarray(case.spacing)
    lps[:3, 3] = case.origin
    np.testing.assert_allclose(image.affine, np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps, atol=COORDINATE, rtol=0)
    data = np.asanyarray(image.dataobj)
    if data.dtype.names:
        data = np.stack([data[name] for name in data.dtype.names], axis=-1)
    spatial = data.ndim - (1 if case.components > 1 else 0)
    axes = list(reversed(range(spatial))) + ([spatial] if case.components > 1 else [])
    np.testing.assert_array_equal(data.transpose(axes), case.array)
    assert image.header.get_xyzt_units() == ("mm", "sec")
    if case.time_spacing is not None:
        assert image.header.get_zooms()[3] == pytest.approx(case.time_spacing)


def test_metaimage_header_is_what_simpleitk_writes(medvol, tmp_path):
    case = CASES[0]
    source = tmp_path / "in.mha"
    sitk.WriteImage(case.image(), str(source))
    medvol("convert", source, tmp_path / "medvol.mhd")
    sitk.WriteImage(case.image(), str(tmp_path / "sitk.mhd"))
    ours = (tmp_path / "medvol.mhd").read_text().replace("medvol.raw", "DATA")
    theirs = (tmp_path / "sitk.mhd").read_text().replace("sitk.raw", "DATA")
    assert ours == theirs
    assert "ITK_" not in ours


@pytest.mark.parametrize("name, files", [
    ("x.mhd", ["x.mhd", "x.zraw"]), ("x.nhdr", ["x.nhdr", "x.raw.gz"]), ("x.npy", ["x.json", "x.npy"]),
])
def test_compress_and_companion_files(medvol, tmp_path, name, files):
    source = tmp_path / "in" / "in.mha"
    source.parent.mkdir()
    sitk.WriteImage(CASES[0].image(), str(source))
    out = tmp_path / "out"
    out.mkdir()
    medvol("convert", source, out / name, "--compress")
    assert sorted(p.name for p in out.iterdir()) == files


def test_existing_output_is_refused_and_kept(medvol, tmp_path):
    source = tmp_path / "in.mha"
    sitk.WriteImage(CASES[0].image(), str(source))
    output = tmp_path / "out.nii.gz"
    output.write_bytes(b"precious")
    result = medvol("convert", source, output, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"medvol: error: {output}: ")
    assert output.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mha", "out.nii.gz"]
    medvol("convert", source, output, "--overwrite")
    check_sitk_image(sitk.ReadImage(str(output)), CASES[0])


def npy_bytes(dictionary: str, data: bytes) -> bytes:
    """An .npy file assembled by hand (version 1.0, data aligned to 64 bytes)."""
    text = dictionary.encode("latin1")
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data


@pytest.mark.parametrize("name, content", [
    ("empty.nii", b""), ("random.mha", bytes((i * 7919 + 13) % 256 for i in range(5000))),
    ("truncated.npy", npy_bytes("{'descr': '<i2', 'fortran_order': False, 'shape': (4, 5, 7), }", b"\0" * 100)),
    ("complex.npy", npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2, 2), }", b"\0" * 64)),
    ("empty.npz", b""), ("random.nrrd", b"NRRD0004\nnonsense\n\n"),
])
def test_bad_inputs_fail_cleanly(medvol, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    for command in (("convert", path, tmp_path / "out.mha"), ("info", path, "--json")):
        result = medvol(*command, check=False)
        assert result.returncode == 1, result
        assert result.stderr.startswith(f"medvol: error: {path}: "), result
        assert "Traceback" not in result.stderr and "Fatal error" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_mhd_with_missing_raw(medvol, tmp_path):
    source = tmp_path / "in.mha"
    sitk.WriteImage(CASES[0].image(), str(source))
    medvol("convert", source, tmp_path / "x.mhd")
    (tmp_path / "x.raw").unlink()
    result = medvol("convert", tmp_path / "x.mhd", tmp_path / "y.nii", check=False)
    assert result.returncode == 1
    assert "x.raw" in result.stderr
    assert not (tmp_path / "y.nii").exists()


def test_npy_without_sidecar_warns(medvol, tmp_path):
    np.save(tmp_path / "bare.npy", pattern((2, 3, 4), np.int16))
    info = medvol("info", tmp_path / "bare.npy", "--json").json()
    assert info["size"] == [4, 3, 2]
    assert info["spacing"] == [1.0, 1.0, 1.0] and info["origin"] == [0.0, 0.0, 0.0]
    assert info["direction"] == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    assert any("no geometry sidecar" in warning for warning in info.get("warnings", []))
