import Foundation
@testable import MedVol
import Testing

/// Runs the Python oracle (SimpleITK, nibabel, NumPy): `oraclePython()`; the oracle tests are skipped when
/// there is none.
enum PythonOracle {
    static let python: String? = oraclePython()

    static var isAvailable: Bool { python != nil }

    /// Sends one request; returns the oracle's JSON answer (the last line it prints).
    static func run(_ request: JSONValue) throws -> JSONValue {
        let result = try MedVolTests.run(try #require(python), ["-c", script, request.compactText])
        guard result.status == 0 else { throw MedVolError(.io, reason: "the Python oracle failed: \(result.error)") }
        let lines = result.output.split(separator: "\n")
        return try JSONValue(parsing: String(try #require(lines.last)))
    }

    /// The oracle, in Python. Requests: {"op": "sitk" | "nib" | "npy", "paths": [...]} reads files;
    /// {"op": "make", "folder": F} writes fixtures with SimpleITK, nibabel and NumPy and describes them.
    static let script = #"""
# Oracle for medvol's format tests: reads files with SimpleITK, nibabel and NumPy, and writes fixtures
# with them. Input: one JSON request in argv[1]. Output: one JSON document on stdout.
import json, sys, zlib
import numpy as np

def digest(array):
    array = np.ascontiguousarray(array)
    return {"crc32": zlib.crc32(array.tobytes()) & 0xFFFFFFFF, "bytes": int(array.nbytes), "dtype": array.dtype.str}

def sitk_info(path):
    import SimpleITK as sitk
    image = sitk.ReadImage(path)
    array = sitk.GetArrayFromImage(image)
    n = image.GetDimension()
    direction = np.array(image.GetDirection()).reshape(n, n)
    spacing, origin = list(image.GetSpacing()), list(image.GetOrigin())
    info = {"size": list(image.GetSize()), "spacing": spacing[:3], "origin": origin[:3],
            "direction": direction[:3, :3].ravel().tolist(), "components": image.GetNumberOfComponentsPerPixel(),
            "shape": list(array.shape), "digest": digest(array), "dtype": array.dtype.name}
    if n == 4:
        info["timeSpacing"] = spacing[3]
        info["fourthAxisIdentity"] = bool((direction[3] == [0, 0, 0, 1]).all() and (direction[:, 3] == [0, 0, 0, 1]).all())
    return info

def c_order(data, components):
    spatial = data.ndim - (1 if components > 1 else 0)
    axes = list(reversed(range(spatial))) + ([spatial] if components > 1 else [])
    return data.transpose(axes)

def nib_info(path):
    import nibabel as nib
    image = nib.load(path)
    data = np.asanyarray(image.dataobj)
    components = 1
    if data.dtype.names:  # RGB24: a structured (R, G, B) array
        data = np.stack([data[name] for name in data.dtype.names], axis=-1)
        components = 3
    header = image.header
    return {"affine": image.affine.tolist(), "shape": list(data.shape), "digest": digest(c_order(data, components)),
            "dtype": data.dtype.name, "zooms": [float(z) for z in header.get_zooms()],
            "units": list(header.get_xyzt_units()), "qform_code": int(header["qform_code"]),
            "sform_code": int(header["sform_code"])}

def npy_info(path):
    if path.endswith(".npz"):
        with np.load(path) as archive:
            return {name: {"shape": list(archive[name].shape), "digest": digest(archive[name]),
                           "values": archive[name].ravel().tolist() if archive[name].size <= 16 else None}
                    for name in archive.files}
    array = np.load(path)
    return {"shape": list(array.shape), "digest": digest(array), "dtype": array.dtype.str}

def rotation(axis, angle):
    a = np.asarray(axis, float); a /= np.linalg.norm(a)
    c, s = np.cos(angle), np.sin(angle); t = 1 - c; x, y, z = a
    return np.array([[t*x*x + c, t*x*y - s*z, t*x*z + s*y], [t*x*y + s*z, t*y*y + c, t*y*z - s*x],
                     [t*x*z - s*y, t*y*z + s*x, t*z*z + c]])

def pattern(shape, dtype):
    values = (np.arange(int(np.prod(shape))) * 37) % 251
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return (values * 0.37 - 40.5).astype(dtype).reshape(shape)
    if dtype.kind == "i":
        values = values - 125
    return (values * max(1, np.iinfo(dtype).max // 256)).astype(dtype).reshape(shape)

def expected(array, spacing, origin, direction, components=1, time_spacing=None):
    spatial = array.shape[:-1] if components > 1 else array.shape
    entry = {"size": list(reversed(spatial)), "spacing": list(spacing), "origin": list(origin),
             "direction": np.asarray(direction).ravel().tolist(), "components": components,
             "pixelType": array.dtype.name, "digest": digest(array)}
    if time_spacing is not None:
        entry["timeSpacing"] = time_spacing
    return entry

def make(folder):
    import SimpleITK as sitk, nibabel as nib
    fixtures = []
    # SimpleITK images in every ITK format.
    R = rotation([1, 2, 3], 0.7)
    sitk_cases = [
        ("ct", pattern((4, 5, 7), np.int16), [0.8, 0.65, 2.5], [-123.456789, 98.7654321, -250.125], R, 1),
        ("mr", pattern((3, 6, 5), np.uint16), [1.1, 0.9, 4.0], [10.0, -20.0, 30.0], rotation([0, 1, 1], 2.9), 1),
        ("float", pattern((3, 4, 5), np.float64), [0.5, 0.5, 0.5], [0.0, 0.0, 0.0], np.eye(3), 1),
        ("rgb", pattern((2, 3, 4, 3), np.uint8), [0.3, 0.3, 1.0], [5.0, 6.0, 7.0], R, 3),
    ]
    for name, array, spacing, origin, direction, components in sitk_cases:
        image = sitk.GetImageFromArray(array, isVector=components > 1)
        image.SetSpacing(spacing); image.SetOrigin(origin); image.SetDirection(np.asarray(direction).ravel().tolist())
        for extension, compress in [("mhd", False), ("mha", True), ("nrrd", False), ("nhdr", True), ("nii", False), ("nii.gz", False)]:
            if components > 1 and extension.startswith("nii"):
                continue
            path = f"{folder}/sitk_{name}{'_z' if compress else ''}.{extension}"
            sitk.WriteImage(image, path, useCompression=compress)
            fixtures.append({"path": path, "expected": expected(array, spacing, origin, direction, components)})
    # A 4D SimpleITK image (the fourth axis is time).
    volumes = pattern((3, 2, 4, 5), np.float32)
    image = sitk.JoinSeries([sitk.GetImageFromArray(v) for v in volumes], 0.0, 2.5)
    D4 = np.eye(4); D4[:3, :3] = rotation([-2, 1, 0.5], 2.2)
    image.SetSpacing([1.5, 1.25, 3.3, 2.5]); image.SetOrigin([12.5, -40.25, 77.125, 0.0]); image.SetDirection(D4.ravel().tolist())
    for extension in ["mhd", "mha", "nrrd", "nii.gz"]:
        path = f"{folder}/sitk_4d.{extension}"
        sitk.WriteImage(image, path)
        fixtures.append({"path": path, "expected": expected(volumes, [1.5, 1.25, 3.3], [12.5, -40.25, 77.125], D4[:3, :3], 1, 2.5)})

    # 2D images become one slice: nz = 1, slice spacing 1, the plane's direction embedded in 3D.
    plane = pattern((5, 6), np.int16)
    image = sitk.GetImageFromArray(plane)
    c, s = np.cos(0.4), np.sin(0.4)
    image.SetSpacing([0.6, 0.9]); image.SetOrigin([-12.5, 30.25]); image.SetDirection([c, -s, s, c])
    for extension in ["mha", "nrrd", "nii"]:
        path = f"{folder}/sitk_2d.{extension}"
        sitk.WriteImage(image, path)
        entry = expected(plane[np.newaxis], [0.6, 0.9, 1.0], [-12.5, 30.25, 0.0], [[c, -s, 0], [s, c, 0], [0, 0, 1]])
        fixtures.append({"path": path, "expected": entry})

    # nibabel NIfTI: an oblique rotation near 180 degrees, sform coded "aligned" (ITK 5.2 then reads the qform).
    flip = np.diag([-1.0, -1.0, 1.0])
    for index, (angle, qcode, scode) in enumerate([(np.pi - 2 * 4e-4, 1, 2), (np.pi - 2 * 7e-4, 1, 2), (1.0, 1, 1), (2.0, 0, 2)]):
        lps = rotation([0.3, -1.2, 2.1], angle)
        if index % 2: lps[:, 2] *= -1
        spacing = np.array([0.9, 0.7, 2.2]); origin = np.array([-101.25, 87.5, -33.75])
        affine = np.eye(4); affine[:3, :3] = flip @ lps * spacing; affine[:3, 3] = flip @ origin
        array = pattern((4, 3, 5), np.int16)  # (x, y, z)
        image = nib.Nifti1Image(array, affine); image.set_qform(affine, code=qcode); image.set_sform(affine, code=scode)
        path = f"{folder}/nib_oblique{index}.nii"
        nib.save(image, path)
        fixtures.append({"path": path, "expected": expected(array.transpose(2, 1, 0), spacing, origin, lps)})
    # nibabel NIfTI with scl_slope / scl_inter: ITK applies them (float32).
    stored = pattern((4, 3, 2), np.int16)
    image = nib.Nifti1Image(stored, np.diag([-1.0, -1.0, 1.0, 1.0])); image.header.set_slope_inter(0.25, -1024.0)
    nib.save(image, f"{folder}/nib_scaled.nii.gz")
    scaled = np.asanyarray(nib.load(f"{folder}/nib_scaled.nii.gz").dataobj).transpose(2, 1, 0)
    entry = expected(scaled.astype(np.float32), [1, 1, 1], [0, 0, 0], np.eye(3))
    entry["values"] = scaled.astype(np.float64).ravel().tolist()
    fixtures.append({"path": f"{folder}/nib_scaled.nii.gz", "expected": entry})
    # nibabel 4D with a repetition time.
    data4 = pattern((3, 4, 2, 5), np.uint8)  # (x, y, z, t)
    image = nib.Nifti1Image(data4, np.diag([-2.0, -2.0, 3.0, 1.0])); image.header.set_xyzt_units("mm", "sec")
    image.header["pixdim"][4] = 1.75
    nib.save(image, f"{folder}/nib_4d.nii")
    fixtures.append({"path": f"{folder}/nib_4d.nii",
                     "expected": expected(data4.transpose(3, 2, 1, 0), [2, 2, 3], [0, 0, 0], np.eye(3), 1, 1.75)})

    # NumPy files, with and without sidecars, in every header version and byte order.
    geometry = {"spacing": [0.8, 0.65, 2.5], "origin": [-123.456789, 98.7654321, -250.125], "direction": R.ravel().tolist()}
    array = pattern((4, 5, 7), np.int16)
    np.save(f"{folder}/np_plain.npy", array)
    sidecar = {"size": [7, 5, 4], **geometry, "pixelType": "int16", "components": 1, "modality": "MR",
               "seriesDescription": "t1 mprage", "windows": [{"center": 40, "width": 400}], "warnings": ["from python"]}
    json.dump(sidecar, open(f"{folder}/np_plain.json", "w"))
    fixtures.append({"path": f"{folder}/np_plain.npy", "expected": {**expected(array, **{k: geometry[k] for k in ("spacing", "origin")}, direction=R), "modality": "MR"}})
    for name, variant, version in [("big", array.astype(">i2"), None), ("fortran", np.asfortranarray(pattern((4, 5, 7), np.float32)), None),
                                   ("v2", pattern((4, 5, 7), np.uint32), (2, 0)), ("v3", pattern((4, 5, 7), np.float64), (3, 0)),
                                   ("bool", (pattern((4, 5, 7), np.uint8) % 3 == 0), None)]:
        path = f"{folder}/np_{name}.npy"
        with open(path, "wb") as f:
            np.lib.format.write_array(f, variant, version=version)
        native = np.ascontiguousarray(variant).astype(variant.dtype.newbyteorder("=")) if variant.dtype != bool else variant.astype(np.uint8)
        fixtures.append({"path": path, "expected": expected(native, [1, 1, 1], [0, 0, 0], np.eye(3))})
    for name, save in [("savez", np.savez), ("savez_compressed", np.savez_compressed)]:
        path = f"{folder}/np_{name}.npz"
        save(path, image=array, spacing=np.array(geometry["spacing"]), origin=np.array(geometry["origin"]), direction=R)
        fixtures.append({"path": path, "expected": expected(array, geometry["spacing"], geometry["origin"], R)})
    return fixtures

request = json.loads(sys.argv[1])
handlers = {"sitk": sitk_info, "nib": nib_info, "npy": npy_info}
if request["op"] == "make":
    result = make(request["folder"])
else:
    result = [handlers[request["op"]](path) for path in request["paths"]]
print(json.dumps(result))
"""#
}
