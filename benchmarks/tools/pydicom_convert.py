"""pydicom + NumPy, the way a careful notebook does it: one series folder → one .npy of shape (nz, ny, nx).

    python pydicom_convert.py SERIES_DIR OUT.npy

Reads every file, sorts the slices by position along the slice normal, stacks them, applies Rescale
Slope/Intercept (per slice), and saves. Voxel type: int16 when slopes and intercepts are integers and the
values fit (what medvol and SimpleITK give for CT), float32 otherwise. Compressed pixel data is decoded by
whichever pydicom pixel-data plugin is installed (pylibjpeg-*, python-gdcm, or pydicom's own RLE decoder).
"""
import os
import sys

import numpy as np
import pydicom


def main() -> None:
    series_dir, output = sys.argv[1], sys.argv[2]
    paths = [os.path.join(root, name) for root, _, names in os.walk(series_dir) for name in names]
    slices = [pydicom.dcmread(path) for path in paths]

    orientation = np.array(slices[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    slices.sort(key=lambda ds: float(np.dot(normal, np.array(ds.ImagePositionPatient, dtype=float))))

    volume = np.stack([ds.pixel_array for ds in slices])
    slopes = np.array([float(getattr(ds, "RescaleSlope", 1)) for ds in slices])
    intercepts = np.array([float(getattr(ds, "RescaleIntercept", 0)) for ds in slices])

    if np.all(slopes == 1) and np.all(intercepts == 0):
        result = volume
    elif np.all(slopes == np.round(slopes)) and np.all(intercepts == np.round(intercepts)):
        # Bounds of the rescaled values, from the stored range and every slice's slope and intercept.
        ends = np.concatenate([int(volume.min()) * slopes + intercepts, int(volume.max()) * slopes + intercepts])
        wide = volume.astype(np.int32)
        wide *= slopes.astype(np.int32)[:, None, None]
        wide += intercepts.astype(np.int32)[:, None, None]
        fits16 = np.iinfo(np.int16).min <= ends.min() and ends.max() <= np.iinfo(np.int16).max
        result = wide.astype(np.int16) if fits16 else wide
    else:
        result = volume.astype(np.float32) * slopes.astype(np.float32)[:, None, None] \
            + intercepts.astype(np.float32)[:, None, None]
    np.save(output, result)


if __name__ == "__main__":
    main()
