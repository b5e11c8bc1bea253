"""A DICOM series re-encoded as HTJ2K Lossless (1.2.840.10008.1.2.4.201), one codestream per file, by OpenJPH's
`ojph_compress` (Debian `openjph-tools`): GDCM 3.0 has no HTJ2K encoder.

    python htj2k_series.py SOURCE_DIR OUT_DIR

Monochrome, unsigned, native little-endian sources (what `medvol phantom --unsigned-intercept` writes); the
codestream precision is Bits Stored. Every stream is decoded once by pylibjpeg-openjpeg and compared with the
source pixels, so a benchmark never times a lossy or broken series.
"""
import concurrent.futures
import os
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from pydicom.encaps import encapsulate
from pydicom.uid import HTJ2KLossless


def convert(source: str, output: str) -> None:
    ds = pydicom.dcmread(source)
    if ds.SamplesPerPixel != 1 or ds.PixelRepresentation != 0 or ds.BitsAllocated != 16:
        raise SystemExit(f"{source}: only unsigned 16-bit monochrome sources are re-encoded")
    pixels = ds.pixel_array
    with tempfile.TemporaryDirectory() as scratch:
        raw, stream = os.path.join(scratch, "samples.yuv"), os.path.join(scratch, "stream.j2c")
        pixels.astype("<u2").tofile(raw)
        subprocess.run(["ojph_compress", "-i", raw, "-o", stream, "-dims", f"{{{ds.Columns},{ds.Rows}}}",
                        "-num_comps", "1", "-signed", "false", "-bit_depth", str(ds.BitsStored),
                        "-downsamp", "{1,1}", "-reversible", "true", "-prog_order", "RPCL"],
                       check=True, capture_output=True)
        codestream = open(stream, "rb").read()
    import openjpeg  # pylibjpeg-openjpeg: OpenJPEG 2.5, which decodes HTJ2K
    if not np.array_equal(openjpeg.decode(codestream), pixels):
        raise SystemExit(f"{source}: the HTJ2K stream does not decode to the source pixels")
    ds.PixelData = encapsulate([codestream])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = HTJ2KLossless
    ds.save_as(output, enforce_file_format=True)


def main() -> None:
    source_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    names = sorted(name for name in os.listdir(source_dir) if os.path.isfile(os.path.join(source_dir, name)))
    with concurrent.futures.ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(convert, [os.path.join(source_dir, n) for n in names], [os.path.join(out_dir, n) for n in names],
                      chunksize=16))


if __name__ == "__main__":
    main()
