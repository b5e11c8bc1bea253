/// What a write produced — the one result of `Volume.write(to:format:options:)` and
/// `DICOMStack.write(to:format:options:loadOptions:)`, for every format, DICOM included.
public struct WriteResult: Sendable {
    /// Every path written, data files before the headers that name them (`[x.raw, x.mhd]`); for a DICOM
    /// series, every file in instance-number order.
    public let paths: [String]
    /// The volume that was written, described (geometry, voxel type, metadata).
    public let info: VolumeInfo
    /// True when the voxels went from the DICOM files to the output one slice at a time, without the
    /// whole volume in memory.
    public let streamed: Bool
    /// What a reader of the output should know: precision lost, slices reversed, limits of the DICOM
    /// storage class chosen. Empty for most writes.
    public let warnings: [String]
    /// For a DICOM series: the UIDs, storage class and pixel encoding chosen, and the largest error of
    /// the stored values (nil for every other format).
    public let dicomSeries: DICOMSeriesWriteReport?

    init(paths: [String], info: VolumeInfo, streamed: Bool, warnings: [String] = [],
         dicomSeries: DICOMSeriesWriteReport? = nil) {
        self.paths = paths
        self.info = info
        self.streamed = streamed
        self.warnings = warnings
        self.dicomSeries = dicomSeries
    }

    /// The result of writing `volume` as a DICOM series, as its writer reported it.
    init(dicomSeries report: DICOMSeriesWriteReport, volume: Volume) {
        self.init(paths: report.paths, info: VolumeInfo(volume), streamed: false, warnings: report.warnings,
                  dicomSeries: report)
    }
}

/// The former name of ``WriteResult``.
@available(*, deprecated, renamed: "WriteResult")
public typealias ConversionResult = WriteResult
