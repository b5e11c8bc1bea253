"""Colour and special values (SPEC "Voxel values"), each from files written by pydicom, each compared with
what pydicom makes of them: palettes (8- and 16-bit, segmented) through `apply_color_lut`, YBR through
`convert_color_space`, RGB planar and interleaved, MONOCHROME1 as stored, 1-bit data as 0/1 (single
and multi-frame, frames not byte-aligned), 12-bit data with junk in the unused high bits, the Modality LUT
Sequence instead of slope/intercept, slopes that differ between slices.
"""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.pixels import convert_color_space

from pixel_fixtures import (
    assert_lossy_jpeg,
    assert_voxels_equal, medvol_volume, noisy, pydicom_volume, rgb_frames, transcode, write_pixel_series,
)


def _palette(ds, entries: int, first: int, bits: int, tables, segmented: bool = False):
    """Sets the Palette Color Lookup Table module: `tables` are the red, green and blue entry values
    (or, when `segmented`, their segment words)."""
    for colour, table in zip(("Red", "Green", "Blue"), tables):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [entries % 65536, first, bits])
        ds[f"{colour}PaletteColorLookupTableDescriptor"].VR = "US"
        if segmented:
            setattr(ds, f"Segmented{colour}PaletteColorLookupTableData", np.asarray(table, "<u2").tobytes())
            ds[f"Segmented{colour}PaletteColorLookupTableData"].VR = "OW"
        else:
            data = np.asarray(table, "<u2" if bits == 16 else "u1").tobytes()
            setattr(ds, f"{colour}PaletteColorLookupTableData", data + (b"\0" if len(data) % 2 else b""))
            ds[f"{colour}PaletteColorLookupTableData"].VR = "OW"


def _compare(medvol, tmp_path, folder, dtype, what):
    expected = pydicom_volume(folder)
    actual, sidecar = medvol_volume(medvol, folder, tmp_path / "out")
    assert actual.dtype == np.dtype(dtype), f"{what}: voxel type {actual.dtype}"
    assert_voxels_equal(actual, expected, what)
    return actual, sidecar


# MARK: Palettes

@pytest.mark.parametrize("index_bits,entry_bits,entries,first", [
    (8, 8, 256, 0),
    (8, 16, 256, 0),
    (16, 16, 4096, 100),     # indices below 100 take entry 0, above 4195 the last entry
    (16, 8, 1000, 0),
])
def test_palette_color(medvol, tmp_path, index_bits, entry_bits, entries, first):
    rng = np.random.default_rng(entries + entry_bits)
    index_type = np.uint8 if index_bits == 8 else np.uint16
    high = min(np.iinfo(index_type).max, first + entries + 50)
    indices = rng.integers(0, high + 1, (2, 20, 23)).astype(index_type)
    indices[0, 0, :3] = 0, first, high
    top = 255 if entry_bits == 8 else 65535
    tables = [rng.integers(0, top + 1, entries) for _ in range(3)]
    folder = tmp_path / "palette"
    write_pixel_series(folder, list(indices), photometric="PALETTE COLOR", modality="OT",
                       extra=lambda ds, k: _palette(ds, entries, first, entry_bits, tables))
    what = f"{index_bits}-bit indices, {entry_bits}-bit palette"
    actual, sidecar = medvol_volume(medvol, folder, tmp_path / "out")
    assert actual.dtype == (np.uint8 if entry_bits == 8 else np.uint16)
    assert actual.shape == (2, 20, 23, 3) and sidecar["components"] == 3
    clipped = np.clip(indices.astype(np.int64) - first, 0, entries - 1)
    by_hand = np.stack([np.asarray(table)[clipped] for table in tables], axis=-1)
    assert_voxels_equal(actual, by_hand, f"{what}, by hand")
    expected = pydicom_volume(folder)
    if index_bits == 16 and entry_bits == 8:
        # pydicom's apply_color_lut holds the clipped indices in the palette's dtype, so 16-bit indices
        # into an 8-bit palette wrap modulo 256 there; medvol indexes the whole palette.
        wrapped = np.clip(indices.astype(np.uint8), 0, entries - 1)
        assert_voxels_equal(expected, np.stack([np.asarray(t)[wrapped] for t in tables], axis=-1), "pydicom's wrap")
        assert not np.array_equal(actual, expected)
    else:
        assert_voxels_equal(actual, expected, f"{what}, against pydicom")


@pytest.mark.parametrize("byte", ["low", "high"])
def test_8_bit_palette_stored_one_entry_per_word(medvol, tmp_path, byte):
    """Old writers store 8-bit entries (descriptor 8) one per 16-bit word, in the low or the high byte.
    pydicom then returns the words themselves (uint16); medvol returns the 8-bit entries (uint8), as the
    SPEC says for 8-bit palettes."""
    rng = np.random.default_rng(7)
    indices = rng.integers(0, 256, (2, 12, 15)).astype(np.uint8)
    tables = [rng.integers(0, 256, 256) for _ in range(3)]
    shift = 8 if byte == "high" else 0

    def palette(ds, k):
        _palette(ds, 256, 0, 16, [np.asarray(t) << shift for t in tables])
        for colour in ("Red", "Green", "Blue"):
            ds[f"{colour}PaletteColorLookupTableDescriptor"].value = [256, 0, 8]

    write_pixel_series(tmp_path / "words", list(indices), photometric="PALETTE COLOR", modality="OT", extra=palette)
    actual, _ = medvol_volume(medvol, tmp_path / "words", tmp_path / "out")
    assert actual.dtype == np.uint8
    expected = pydicom_volume(tmp_path / "words")
    assert expected.dtype == np.uint16
    assert_voxels_equal(actual, expected >> shift, f"8-bit entries in the {byte} byte of 16-bit words")


def test_segmented_palette(medvol, tmp_path):
    """Discrete, linear and indirect segments (PS3.3 C.7.9.2), 16-bit entries, 256 of them."""
    red = [0, 4, 0, 100, 200, 300,      # discrete: 4 entries
           1, 100, 65535,               # linear up to 65535 over 100 entries
           1, 52, 1000,                 # linear down to 1000 over 52 entries
           2, 1, 0, 0,                  # indirect: the first segment again (4 entries)
           1, 96, 5000,                 # linear from its last value (300) to 5000
           0, 0]                        # an empty discrete segment
    green = [0, 1, 1,                   # 1
             1, 2, 4,                   # 2.5 and 4: pydicom rounds half to even (2)
             1, 253, 9]
    blue = [0, 2, 65535, 65535, 1, 254, 0]
    indices = np.arange(256, dtype=np.uint8).reshape(1, 16, 16).repeat(2, axis=0)
    folder = tmp_path / "segmented"
    write_pixel_series(folder, list(indices), photometric="PALETTE COLOR", modality="OT",
                       extra=lambda ds, k: _palette(ds, 256, 0, 16, (red, green, blue), segmented=True))
    actual, _ = _compare(medvol, tmp_path, folder, np.uint16, "segmented palette")
    assert actual[0, 0, 0].tolist() == [0, 1, 65535]
    assert actual[0, 0, 4, 0] == 952                       # 300 + (65535 − 300) / 100, rounded
    assert actual[0, 0, 1, 1] == 2 and actual[0, 0, 2, 1] == 4
    assert actual[0, 9, 12, 0] == 0 and actual[0, 9, 15, 0] == 300   # entries 156…159: the indirect copy


# MARK: YBR and RGB

@pytest.mark.parametrize("subsampled", [False, True], ids=["YBR_FULL", "YBR_FULL_422"])
def test_native_ybr_becomes_rgb(medvol, tmp_path, subsampled):
    rgb = rgb_frames(np.uint8, seed=31, columns=44)
    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    folder = tmp_path / "ybr"

    def subsample(ds, k):
        if subsampled:
            image = ybr[k].astype(np.int32)
            packed = np.empty((image.shape[0], image.shape[1] // 2, 4), np.uint8)
            packed[..., 0], packed[..., 1] = image[:, 0::2, 0], image[:, 1::2, 0]
            packed[..., 2] = (image[:, 0::2, 1] + image[:, 1::2, 1] + 1) // 2
            packed[..., 3] = (image[:, 0::2, 2] + image[:, 1::2, 2] + 1) // 2
            ds.PixelData = packed.tobytes()

    write_pixel_series(folder, list(ybr), photometric="YBR_FULL_422" if subsampled else "YBR_FULL",
                       modality="OT", extra=subsample)
    actual, _ = _compare(medvol, tmp_path, folder, np.uint8, "native YBR")
    # and the RGB it came from, within the loss of the round trip (and of the 4:2:2 averaging)
    assert np.abs(actual.astype(int) - rgb.astype(int)).mean() < (8 if subsampled else 1.5)


@pytest.mark.parametrize("encoder", ["jpeg_baseline_dcmtk", "jpeg_baseline_444"])
def test_jpeg_ybr_becomes_rgb(medvol, tmp_path, encoder):
    """JPEG baseline in YBR_FULL_422 (4:2:2) and YBR_FULL (4:4:4): GDCM leaves YCbCr as it is, medvol
    converts it as pydicom does."""
    rgb = rgb_frames(np.uint8, seed=32)
    write_pixel_series(tmp_path / "rgb", list(rgb), photometric="RGB", modality="OT")
    folder = transcode(tmp_path / "rgb", tmp_path / "jpeg", encoder)
    photometric = pydicom.dcmread(next(folder.iterdir()), stop_before_pixels=True).PhotometricInterpretation
    assert photometric == ("YBR_FULL_422" if encoder == "jpeg_baseline_dcmtk" else "YBR_FULL")
    actual, _ = medvol_volume(medvol, folder, tmp_path / "out")
    assert actual.dtype == np.uint8
    assert_lossy_jpeg(actual, folder, tmp_path, f"JPEG {photometric}")
    assert np.abs(actual.astype(int) - rgb.astype(int)).mean() < 6


@pytest.mark.parametrize("bits,planar", [(8, 0), (8, 1), (16, 0), (16, 1)])
def test_rgb(medvol, tmp_path, bits, planar):
    truth = rgb_frames(np.uint8 if bits == 8 else np.uint16, seed=33 + planar)
    write_pixel_series(tmp_path / "rgb", list(truth), photometric="RGB", planar=planar, modality="OT")
    actual, sidecar = _compare(medvol, tmp_path, tmp_path / "rgb", truth.dtype, f"RGB {bits}-bit planar {planar}")
    assert_voxels_equal(actual, truth, "RGB against the values written")
    assert sidecar["components"] == 3


# MARK: Monochrome special values

def test_monochrome1_is_kept_as_stored(medvol, tmp_path):
    stored = noisy((3, 20, 24), np.uint16, 0, 4095, seed=40)
    write_pixel_series(tmp_path / "mono1", list(stored), photometric="MONOCHROME1", bits_stored=12, modality="CR")
    actual, sidecar = _compare(medvol, tmp_path, tmp_path / "mono1", np.uint16, "MONOCHROME1")
    assert_voxels_equal(actual, stored, "MONOCHROME1 not inverted")
    assert sidecar["photometricInterpretation"] == "MONOCHROME1"


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_12_bit_data_with_junk_in_the_unused_bits(medvol, tmp_path, signed):
    """Bits Stored 12 of 16: the four high bits hold junk (an overlay, say); values come from the low
    12 bits, sign-extended when Pixel Representation is 1."""
    low, high = (-2048, 2047) if signed else (0, 4095)
    values = noisy((3, 20, 24), np.int32, low, high, seed=41)
    junk = np.random.default_rng(3).integers(0, 16, values.shape) << 12
    stored = ((values & 0xFFF) | junk).astype(np.uint16)
    write_pixel_series(tmp_path / "twelve", list(stored.view(np.int16) if signed else stored),
                       bits_stored=12, signed=signed, modality="MR")
    actual, _ = _compare(medvol, tmp_path, tmp_path / "twelve", np.int16 if signed else np.uint16, "12-bit")
    assert_voxels_equal(actual, values, "12-bit values")


@pytest.mark.parametrize("frames", [1, 5], ids=["single-frame", "multi-frame"])
def test_one_bit_data_becomes_0_and_1(medvol, tmp_path, frames):
    """1-bit segmentation-like images; 7 × 13 = 91 bits a frame, so frames start inside a byte."""
    rng = np.random.default_rng(frames)
    bits = rng.integers(0, 2, (frames, 7, 13)).astype(np.uint8)
    folder = tmp_path / "onebit"
    if frames == 1:
        write_pixel_series(folder, [bits[0]], bits_allocated=1, bits_stored=1, signed=False, modality="OT")
    else:
        def multiframe(ds, k):
            ds.NumberOfFrames = frames
            ds.PixelData = np.packbits(bits.ravel(), bitorder="little").tobytes()
            ds.SpacingBetweenSlices = 1.5
        write_pixel_series(folder, [bits[0]], bits_allocated=1, bits_stored=1, signed=False, modality="OT",
                           extra=multiframe)
    actual, sidecar = medvol_volume(medvol, folder, tmp_path / "out")
    assert actual.dtype == np.uint8
    expected = pydicom.dcmread(next(folder.iterdir())).pixel_array.reshape(frames, 7, 13)
    assert_voxels_equal(actual, expected, "1-bit against pydicom")
    assert_voxels_equal(actual, bits, "1-bit against the bits written")
    if frames > 1:
        assert sidecar["spacing"][2] == pytest.approx(1.5)


@pytest.mark.parametrize("entry_bits", [8, 16])
def test_modality_lut_sequence_replaces_slope_and_intercept(medvol, tmp_path, entry_bits):
    """A Modality LUT Sequence is applied; the Rescale Slope/Intercept also present are not."""
    rng = np.random.default_rng(entry_bits)
    stored = noisy((3, 20, 24), np.uint16, 0, 1023, seed=42)
    stored[0, 0, :2] = 0, 1100                  # beyond the table: clamps to its last entry
    first, entries = 10, 1000
    table = np.sort(rng.integers(0, 256 if entry_bits == 8 else 60000, entries))

    def lut(ds, k):
        item = pydicom.Dataset()
        item.LUTDescriptor = [entries, first, entry_bits]
        item["LUTDescriptor"].VR = "US"
        item.ModalityLUTType = "HU"
        item.LUTData = table.astype("<u2").tobytes()
        item["LUTData"].VR = "OW"
        ds.ModalityLUTSequence = pydicom.Sequence([item])
        ds.RescaleSlope, ds.RescaleIntercept = 3, -999   # must be ignored

    write_pixel_series(tmp_path / "lut", list(stored), bits_stored=12, modality="CT", extra=lut)
    # SPEC: the stored type (uint16) holds every value, so it is kept even for an 8-bit table
    actual, _ = _compare(medvol, tmp_path, tmp_path / "lut", np.uint16,
                         f"{entry_bits}-bit Modality LUT")
    clipped = np.clip(stored.astype(np.int64) - first, 0, entries - 1)
    assert_voxels_equal(actual, table[clipped], "Modality LUT by hand")


def test_slopes_that_differ_between_slices_give_float32(medvol, tmp_path):
    stored = noisy((4, 20, 24), np.int16, -1000, 3000, seed=43)
    slopes, intercepts = [0.5, 1.25, 0.3333, 2.0], [-1024, -1000.5, 0, 7]
    write_pixel_series(tmp_path / "slopes", list(stored), modality="PT", slope=1, intercept=0,
                       extra=lambda ds, k: (setattr(ds, "RescaleSlope", slopes[k]), setattr(ds, "RescaleIntercept", intercepts[k])))
    actual, sidecar = _compare(medvol, tmp_path, tmp_path / "slopes", np.float32, "per-slice slopes")
    by_hand = np.stack([stored[k] * float(slopes[k]) + intercepts[k] for k in range(4)]).astype(np.float32)
    assert_voxels_equal(actual, by_hand, "per-slice slopes by hand")


def test_integer_intercepts_that_differ_between_slices_stay_integer(medvol, tmp_path):
    stored = noisy((3, 20, 24), np.uint16, 0, 4095, seed=44)
    intercepts = [-1024, -1000, 0]
    write_pixel_series(tmp_path / "intercepts", list(stored), bits_stored=12, slope=1, intercept=0,
                       extra=lambda ds, k: setattr(ds, "RescaleIntercept", intercepts[k]))
    actual, _ = _compare(medvol, tmp_path, tmp_path / "intercepts", np.int16, "per-slice intercepts")
    by_hand = np.stack([stored[k].astype(np.int32) + intercepts[k] for k in range(3)])
    assert_voxels_equal(actual, by_hand, "per-slice intercepts by hand")
