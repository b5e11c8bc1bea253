@testable import MedVol
import Testing

@Suite("Format detection")
struct FormatsDetectionTests {
    @Test("the extension names the format, case-insensitively", arguments: [
        ("scan.mhd", VolumeFileFormat.metaImage), ("a/b/SCAN.MHD", .metaImage), ("x.mha", .metaImageSingleFile),
        ("x.nii", .nifti), ("x.Nii", .nifti), ("dir.d/x.nii.gz", .niftiCompressed), ("X.NII.GZ", .niftiCompressed),
        ("x.nrrd", .nrrd), ("x.nhdr", .nrrdDetached), ("x.npy", .numpy), ("x.NPZ", .numpyArchive),
        ("archive.tar.nii.gz", .niftiCompressed),
    ])
    func formatFromPath(path: String, format: VolumeFileFormat) {
        #expect(VolumeFileFormat(path: path) == format)
    }

    @Test("unknown extensions, bare extensions and DICOM give nil", arguments: [
        "x.dcm", "x.gz", "x.raw", "x", "nii.gz", "folder.nii/x", "x.json", ".mhd", "IM0001", "scan.nii.gz.bak",
    ])
    func unknownPath(path: String) {
        #expect(VolumeFileFormat(path: path) == nil)
    }

    @Test("--format names", arguments: [
        ("dicom", VolumeFileFormat.dicom), ("mhd", .metaImage), ("mha", .metaImageSingleFile), ("nii", .nifti),
        ("nifti", .nifti), ("nii.gz", .niftiCompressed), ("NII.GZ", .niftiCompressed), ("nrrd", .nrrd),
        ("nhdr", .nrrdDetached), ("npy", .numpy), ("npz", .numpyArchive), (".mha", .metaImageSingleFile),
    ])
    func formatFromName(name: String, format: VolumeFileFormat) {
        #expect(VolumeFileFormat(name: name) == format)
    }

    @Test func unknownNames() {
        for name in ["", "png", "gz", "raw", "niigz", "nifti.gz", "mhd ", "numpy"] {
            #expect(VolumeFileFormat(name: name) == nil, "\(name)")
        }
    }

    @Test func fileExtensions() {
        let extensions = VolumeFileFormat.allCases.map(\.fileExtension)
        #expect(extensions == ["", "mhd", "mha", "nii", "nii.gz", "hdr", "nrrd", "nhdr", "npy", "npz"])
        #expect(VolumeFileFormat(path: "pair.IMG") == .niftiPair, "the image file of a pair names the pair")
        for format in VolumeFileFormat.allCases where format != .dicom {
            #expect(VolumeFileFormat(path: "x." + format.fileExtension) == format)
            #expect(VolumeFileFormat(name: format.fileExtension) == format)
        }
    }

    @Test("an explicit format appends its extension to a path without one")
    func appendsExtension() throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.int16)
        let written = try volume.write(to: folder.file("scan"), format: .niftiCompressed).paths
        #expect(written == [folder.file("scan.nii.gz")])
        let mhd = try volume.write(to: folder.file("other.v2"), format: .metaImage).paths
        #expect(mhd == [folder.file("other.v2.raw"), folder.file("other.v2.mhd")])
        expectSameVolume(try Volume(contentsOf: folder.file("other.v2.mhd")), volume)
    }

    @Test("an explicit format that contradicts the extension is refused")
    func contradictingFormat() throws {
        let folder = TemporaryFolder()
        let error = medVolError { try FormatFixtures.volume(.int16).write(to: folder.file("x.nii"), format: .numpy) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.path == folder.file("x.nii"))
        #expect(folder.contents().isEmpty)
    }

    @Test func unknownExtensionIsRefused() throws {
        let folder = TemporaryFolder()
        let writeError = medVolError { try FormatFixtures.volume(.int16).write(to: folder.file("x.png")) }
        #expect(writeError?.code == .invalidArgument)
        #expect(writeError?.description.hasPrefix(folder.file("x.png") + ": cannot tell the format") == true)
        let readError = medVolError { _ = try Volume(contentsOf: folder.file("x.png")) }
        #expect(readError?.code == .unrecognizedFormat)
        #expect(readError?.path == folder.file("x.png"))
    }

    @Test("DICOM through Volume(contentsOf:) and write(to:): a series folder, read back the same")
    func dicomFolder() throws {
        let folder = TemporaryFolder()
        #expect(medVolError { _ = try Volume(contentsOf: folder.path, format: .dicom) }?.code == .noImages)
        let volume = Phantom.ct(size: [12, 10, 5], spacing: [0.5, 0.75, 2], origin: [1, 2, 3])
        let written = try volume.write(to: folder.file("series"), format: .dicom).paths
        #expect(written.count == 5)
        let back = try Volume(contentsOf: folder.file("series"), format: .dicom)
        #expect(back.pixelType == .int16)
        #expect(back.geometry.isCongruent(with: volume.geometry))
        #expect(Array(try back.voxels(as: Int16.self)) == Array(try volume.voxels(as: Int16.self)))
    }
}
