"""A .nii / .nii.gz file → .npy in SimpleITK's array order (z, y, x), the way a notebook would do it.

    python nifti_to_npy.py nibabel   IN.nii.gz OUT.npy    (np.asarray(nibabel.load(IN).dataobj), transposed)
    python nifti_to_npy.py simpleitk IN.nii.gz OUT.npy    (sitk.GetArrayFromImage(sitk.ReadImage(IN)))

Run by benchmarks/formats.py as a subprocess: interpreter start-up and the import are part of the time.
"""
import sys

import numpy as np


def main() -> None:
    reader, source, output = sys.argv[1:4]
    if reader == "nibabel":
        import nibabel
        array = np.asarray(nibabel.load(source).dataobj)
        array = np.ascontiguousarray(array.transpose(tuple(reversed(range(array.ndim)))))
    else:
        import SimpleITK as sitk
        array = sitk.GetArrayFromImage(sitk.ReadImage(source))
    np.save(output, array)


if __name__ == "__main__":
    main()
