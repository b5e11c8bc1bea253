"""SimpleITK's DICOM series reader, as its documentation shows it: one series folder → one .mhd.

    python sitk_convert.py SERIES_DIR OUT.mhd
    python sitk_convert.py SERIES_DIR OUT.nii.gz --compress      (WriteImage(..., useCompression=True))

Run by benchmarks/run.py as a subprocess, so the interpreter start-up and `import SimpleITK` are part of the
time (as they are for anyone who runs such a script).
"""
import sys

import SimpleITK as sitk


def main() -> None:
    series_dir, output = sys.argv[1], sys.argv[2]
    compress = "--compress" in sys.argv[3:]
    names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(series_dir)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(names)
    image = reader.Execute()
    sitk.WriteImage(image, output, useCompression=compress)


if __name__ == "__main__":
    main()
