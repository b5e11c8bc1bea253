#if canImport(Glibc)
import Glibc
#endif

/// Writes MetaImage files (`.mhd` + `.raw`/`.zraw`, `.mha`) exactly as ITK's MetaImageIO writes them:
/// the same fields in the same order, numbers as `%.17g`, the direction written column by column
/// (`TransformMatrix`), ITK's `AnatomicalOrientation` code, and no other metadata — except that a compressed
/// `.mha`, whose header names the compressed size before the data, carries one `Comment` line of spaces
/// that fills the room kept for it (ITK skips it). The header does not
/// depend on the voxel values, so it can be written after them (see ``MetaImageWriter/Header``) — which
/// is what lets a conversion stream slices straight into the data file.
enum MetaImageWriter {
    /// The header text for a volume of `info`'s geometry, type and components.
    struct Header {
        var info: VolumeInfo
        /// `ElementDataFile`: the data file's name, or `LOCAL` for `.mha`.
        var dataFile: String
        /// Bytes of the compressed data, for `CompressedData = True`.
        var compressedDataSize: Int?
        /// Bytes of a `Comment` line of spaces before `ElementDataFile` (0: none, else at least
        /// ``minimumPaddingLine``): room a streamed `.mha` reserved for the longest type name.
        var padding = 0

        /// The shortest padding line, `Comment = ` and the line end.
        static let minimumPaddingLine = "Comment = \n".utf8.count

        var text: String {
            let geometry = info.geometry
            let fourD = geometry.isFourDimensional
            let dimensions = fourD ? 4 : 3
            // ITK's direction, column by column, padded with an identity fourth axis for 4D.
            var matrix: [Double] = []
            for column in 0..<dimensions {
                for row in 0..<dimensions {
                    if row < 3 && column < 3 { matrix.append(geometry.direction[row, column]) } else { matrix.append(row == column ? 1 : 0) }
                }
            }
            let origin = [geometry.origin.x, geometry.origin.y, geometry.origin.z] + (fourD ? [0] : [])
            let spacing = [geometry.spacing.x, geometry.spacing.y, geometry.spacing.z] + (fourD ? [geometry.timeSpacing ?? 1] : [])
            var lines = [
                "ObjectType = Image",
                "NDims = \(dimensions)",
                "BinaryData = True",
                "BinaryDataByteOrderMSB = False",
            ]
            if let compressedDataSize {
                lines += ["CompressedData = True", "CompressedDataSize = \(compressedDataSize)"]
            } else {
                lines.append("CompressedData = False")
            }
            lines += [
                "TransformMatrix = " + numbers(matrix),
                "Offset = " + numbers(origin),
                "CenterOfRotation = " + Array(repeating: "0", count: dimensions).joined(separator: " "),
            ]
            if !fourD { lines.append("AnatomicalOrientation = " + MetaImageWriter.anatomicalOrientation(geometry.direction)) }
            lines += [
                "ElementSpacing = " + numbers(spacing),
                "DimSize = " + geometry.size.map(String.init).joined(separator: " "),
            ]
            if fourD { lines.append("AnatomicalOrientation = ????") }
            if info.components > 1 { lines.append("ElementNumberOfChannels = \(info.components)") }
            lines.append("ElementType = " + MetaImageWriter.elementType(info.pixelType))
            if padding > 0 {
                precondition(padding >= Self.minimumPaddingLine, "padding shorter than a Comment line")
                lines.append("Comment = " + String(repeating: " ", count: padding - Self.minimumPaddingLine))
            }
            lines.append("ElementDataFile = " + dataFile)
            return lines.joined(separator: "\n") + "\n"
        }

        private func numbers(_ values: [Double]) -> String {
            values.map(MetaImageWriter.format).joined(separator: " ")
        }
    }

    /// MetaIO's name of a voxel type.
    static func elementType(_ type: PixelType) -> String {
        switch type {
        case .uint8: "MET_UCHAR"
        case .int8: "MET_CHAR"
        case .uint16: "MET_USHORT"
        case .int16: "MET_SHORT"
        case .uint32: "MET_UINT"
        case .int32: "MET_INT"
        case .uint64: "MET_ULONG_LONG"
        case .int64: "MET_LONG_LONG"
        case .float32: "MET_FLOAT"
        case .float64: "MET_DOUBLE"
        }
    }

    /// ITK's orientation code, which names where each index axis comes *from* (the identity is "RAI").
    ///
    /// This is current ITK's rule (`AnatomicalOrientation::ConvertDirectionToPositiveEnum`, ITK 5.4, what
    /// SimpleITK writes): take the largest remaining |entry| of the whole matrix — ties go to the last in
    /// row-major order — and give that entry's patient axis (its row: R/L, A/P, I/S for a positive/negative
    /// entry) to that entry's index axis (its column); remove its row and column; repeat. (ITK 5.2 used a
    /// per-axis rule that mislabels oblique directions, e.g. "RPI" for a first axis running mostly
    /// right-to-left; readers ignore the field and use TransformMatrix.)
    static func anatomicalOrientation(_ direction: DirectionMatrix) -> String {
        var rowFree = [true, true, true], columnFree = [true, true, true]
        var letters: [Character] = ["?", "?", "?"]
        let names: [(Character, Character)] = [("R", "L"), ("A", "P"), ("I", "S")]
        for _ in 0..<3 {
            var best: (row: Int, column: Int)?
            for row in 0..<3 where rowFree[row] {
                for column in 0..<3 where columnFree[column] {
                    if let current = best, Swift.abs(direction[row, column]) < Swift.abs(direction[current.row, current.column]) { continue }
                    best = (row, column)
                }
            }
            guard let (row, column) = best else { break }
            rowFree[row] = false
            columnFree[column] = false
            letters[column] = direction[row, column] > 0 ? names[row].0 : names[row].1
        }
        return String(letters)
    }

    /// A number as ITK writes it: `%.17g`, and 0 for negative zero.
    static func format(_ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 40)
        let printed = value == 0 ? 0 : value
        _ = withVaList([printed]) { vsnprintf(&buffer, buffer.count, "%.17g", $0) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The zlib level of compressed MetaImage data (`.zraw`, compressed `.mha`): fast, and ITK reads any.
    static let zlibLevel: Int = 2

    /// Bytes a compressed `.mha` keeps for its header before the zlib data, whose size it names: the
    /// header of the longest of `types` with a size of as many digits as any compressed size can have,
    /// and a padding line, so that the header written once the size is known always fills it exactly.
    static func compressedSingleFileHeaderRoom(geometry: ImageGeometry, components: Int, types: [PixelType]) -> Int {
        types.map { type in
            let voxelBytes = geometry.voxelCount * components * type.byteSize
            // Deflate grows incompressible data by well under 1 %; twice the size has at least its digits.
            let largest = voxelBytes * 2 + (1 << 20)
            return Header(info: VolumeInfo(geometry: geometry, pixelType: type, components: components), dataFile: "LOCAL",
                          compressedDataSize: largest).text.utf8.count
        }.max()! + Header.minimumPaddingLine
    }

    /// The data file beside an `.mhd`: `NAME.raw`, or `NAME.zraw` when compressed.
    static func dataFile(for path: String, compress: Bool) -> String {
        String(path.dropLast(4)) + (compress ? ".zraw" : ".raw")
    }

    /// Writes `volume` as `.mhd` + data file, or `.mha`; returns the paths written, data first.
    static func write(_ volume: Volume, to path: String, singleFile: Bool, options: VolumeWriteOptions) throws -> [String] {
        let info = VolumeInfo(volume)
        let dataPath = singleFile ? nil : dataFile(for: path, compress: options.compress)
        let outputs = (dataPath.map { [$0] } ?? []) + [path]
        try OutputTransaction.write(outputs: outputs, overwrite: options.overwrite, filesOnly: true) { transaction in
            try volume.withUnsafeBytes { voxels in
                if let dataPath {
                    // .mhd: the data file first — compressed as it is written — then the header that
                    // gives its compressed size.
                    let dataFile = try WritableFile(creating: transaction.stagingPath(for: dataPath))
                    var compressedSize: Int?
                    if options.compress {
                        // One zlib stream, compressed in blocks on every core (see ParallelDeflate).
                        compressedSize = try ParallelDeflate.compress([voxels], wrapper: .zlib, level: Int32(zlibLevel),
                                                                      blockSize: ParallelDeflate.blockSize(wholeSlicesOf: info)) { chunk in
                            try dataFile.write(chunk)
                        }.compressedCount
                    } else {
                        try dataFile.write(voxels)
                    }
                    try dataFile.close()
                    let header = Header(info: info, dataFile: FileSystem.lastComponent(of: dataPath), compressedDataSize: compressedSize)
                    let headerFile = try WritableFile(creating: transaction.stagingPath(for: path))
                    try headerFile.write(header.text)
                    try headerFile.close()
                } else if options.compress {
                    // Compressed .mha: the header before the data gives the compressed size, so the data
                    // go after room for the header (``compressedSingleFileHeaderRoom``) and it follows,
                    // padded to that room — as a streamed conversion writes it.
                    let room = compressedSingleFileHeaderRoom(geometry: info.geometry, components: info.components, types: [info.pixelType])
                    let file = try WritableFile(creating: transaction.stagingPath(for: path))
                    var offset = room
                    let compressedSize = try ParallelDeflate.compress([voxels], wrapper: .zlib, level: Int32(zlibLevel),
                                                                      blockSize: ParallelDeflate.blockSize(wholeSlicesOf: info)) { chunk in
                        try file.write(chunk, at: offset)
                        offset += chunk.count
                    }.compressedCount
                    var header = Header(info: info, dataFile: "LOCAL", compressedDataSize: compressedSize)
                    header.padding = room - header.text.utf8.count
                    try Array(header.text.utf8).withUnsafeBytes { try file.write($0, at: 0) }
                    try file.close()
                } else {
                    let header = Header(info: info, dataFile: "LOCAL", compressedDataSize: nil)
                    let file = try WritableFile(creating: transaction.stagingPath(for: path))
                    try file.write(header.text)
                    try file.write(voxels)
                    try file.close()
                }
            }
        }
        return outputs
    }
}
