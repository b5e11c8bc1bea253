#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// NRRD (`.nrrd`, `.nhdr` + `.raw`/`.raw.gz`) written in Swift, the header byte for byte as ITK 5.2's
/// NrrdImageIO (Teem) writes it, gzip data compressed in independent blocks on every core (see
/// ``IndexedGzip``: an ordinary multi-member gzip stream that Teem, ITK and pynrrd read).
///
/// The header medvol writes (numbers printed as Teem prints doubles, `%.17g`):
///
///     NRRD0004
///     # Complete NRRD file format specification at:
///     # http://teem.sourceforge.net/nrrd/format.html
///     type: short                                      (Teem's type names)
///     dimension: 3                                     (4 for 4D or RGB)
///     space: left-posterior-superior                   (4D: "space dimension: 4")
///     sizes: 512 512 300                               (RGB: 3 first)
///     space directions: (sx·d₀₀,sx·d₁₀,sx·d₂₀) (…) (…)  (RGB: "none" first)
///     kinds: domain domain domain                      (RGB: "RGB-color" first)
///     endian: little                                   (only for types wider than a byte)
///     encoding: raw                                    (or gzip)
///     space origin: (x,y,z)
///     data file: NAME.raw                              (detached headers only)
///
/// An attached `.nrrd` has an empty line after the header, then the (raw or gzip) data.
enum NRRDFile {
    /// Teem's name of a voxel type.
    static func typeName(_ type: PixelType) -> String {
        switch type {
        case .uint8: "unsigned char"
        case .int8: "signed char"
        case .uint16: "unsigned short"
        case .int16: "short"
        case .uint32: "unsigned int"
        case .int32: "int"
        case .uint64: "unsigned long long int"
        case .int64: "long long int"
        case .float32: "float"
        case .float64: "double"
        }
    }

    /// A double as Teem prints it (`%.17g`).
    static func number(_ value: Double) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 40) { buffer in
            let count = withVaList([value]) { vsnprintf(buffer.baseAddress, 40, "%.17g", $0) }
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: Int(count)), as: UTF8.self)
        }
    }

    static func vector(_ values: [Double]) -> String {
        "(" + values.map(number).joined(separator: ",") + ")"
    }

    /// The header text of a NRRD file for `info`: `dataFile` names the data file of a detached header
    /// (nil: attached, the header ends with an empty line and the data follow).
    static func header(for info: VolumeInfo, gzip: Bool, dataFile: String?) -> String {
        let geometry = info.geometry
        let fourD = geometry.isFourDimensional
        let colour = info.components == 3
        var lines = ["NRRD0004", "# Complete NRRD file format specification at:", "# http://teem.sourceforge.net/nrrd/format.html"]
        lines.append("type: " + typeName(info.pixelType))
        lines.append("dimension: \(geometry.size.count + (colour ? 1 : 0))")
        lines.append(fourD ? "space dimension: 4" : "space: left-posterior-superior")
        lines.append("sizes: " + ((colour ? [3] : []) + geometry.size).map(String.init).joined(separator: " "))
        let spacing = [geometry.spacing.x, geometry.spacing.y, geometry.spacing.z]
        var directions: [String] = colour ? ["none"] : []
        for axis in 0..<3 {
            let column = geometry.direction.column(axis)
            directions.append(vector([column.x, column.y, column.z].map { $0 * spacing[axis] } + (fourD ? [0] : [])))
        }
        if fourD { directions.append(vector([0, 0, 0, geometry.timeSpacing ?? 1])) }
        lines.append("space directions: " + directions.joined(separator: " "))
        lines.append("kinds: " + ((colour ? ["RGB-color"] : []) + Array(repeating: "domain", count: geometry.size.count)).joined(separator: " "))
        if info.pixelType.byteSize > 1 { lines.append("endian: little") }
        lines.append("encoding: " + (gzip ? "gzip" : "raw"))
        lines.append("space origin: " + vector([geometry.origin.x, geometry.origin.y, geometry.origin.z] + (fourD ? [0] : [])))
        if let dataFile { lines.append("data file: " + dataFile) }
        return lines.joined(separator: "\n") + "\n" + (dataFile == nil ? "\n" : "")
    }

    /// The data file of a detached header: `NAME.raw`, or `NAME.raw.gz` when compressed.
    static func dataFile(for path: String, compress: Bool) -> String {
        String(path.dropLast(".nhdr".count)) + (compress ? ".raw.gz" : ".raw")
    }

    /// Writes `volume` as `.nrrd` (`detached` false) or `.nhdr` + data file, raw or gzip at `level`.
    static func write(_ volume: Volume, to path: String, detached: Bool, compress: Bool, level: Int,
                      options: VolumeWriteOptions) throws -> [String] {
        let info = VolumeInfo(volume)
        let data = detached ? dataFile(for: path, compress: compress) : nil
        let header = Array(header(for: info, gzip: compress, dataFile: data.map(FileSystem.lastComponent(of:))).utf8)
        let outputs = (data.map { [$0] } ?? []) + [path]
        let sliceBytes = volume.size[0] * volume.size[1] * volume.components * volume.pixelType.byteSize
        try OutputTransaction.write(outputs: outputs, overwrite: options.overwrite, filesOnly: true) { transaction in
            let headerFile = try WritableFile(creating: transaction.stagingPath(for: path))
            try header.withUnsafeBytes { try headerFile.write($0, at: 0) }
            let dataFile = try data.map { try WritableFile(creating: transaction.stagingPath(for: $0)) } ?? headerFile
            let start = data == nil ? header.count : 0
            try volume.withUnsafeBytes { voxels in
                if compress {
                    try IndexedGzipWriter.write(voxels, unitBytes: sliceBytes, to: dataFile, at: start, header: [], level: level)
                } else {
                    try dataFile.write(voxels, at: start)
                }
            }
            if data != nil { try dataFile.close() }
            try headerFile.close()
        }
        return outputs
    }
}
