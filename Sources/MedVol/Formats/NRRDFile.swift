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

    /// The shortest comment line: `#` and the line end.
    static let minimumPaddingLine = 2

    /// The attached header for `info`, filling exactly `length` bytes: ITK's header when it is that long,
    /// else with a comment line of spaces before the empty line that ends it (Teem, ITK and pynrrd skip
    /// comment lines), so that data written at `length` before the type was known follow it.
    static func header(for info: VolumeInfo, gzip: Bool, paddedTo length: Int) -> String {
        var text = header(for: info, gzip: gzip, dataFile: nil)
        let padding = length - text.utf8.count
        precondition(padding == 0 || padding >= minimumPaddingLine, "reserved header length too short")
        if padding > 0 {
            text.removeLast()  // the empty line goes after the comment
            text += "#" + String(repeating: " ", count: padding - minimumPaddingLine) + "\n\n"
        }
        return text
    }

    /// The data file of a detached header: `NAME.raw`, or `NAME.raw.gz` when compressed.
    static func dataFile(for path: String, compress: Bool) -> String {
        String(path.dropLast(".nhdr".count)) + (compress ? ".raw.gz" : ".raw")
    }

    /// Writes `volume` as `.nrrd` (`detached` false) or `.nhdr` + data file, raw or gzip at `level`.
    static func write(_ volume: Volume, to path: String, detached: Bool, compress: Bool, level: GzipLevel,
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

// MARK: Reading

extension NRRDFile {
    /// The header fields the Swift reader understands, parsed from the text before the data.
    struct Header {
        var fields: [String: String] = [:]
        /// Bytes of the header in its file, up to and including the empty line (attached data start there).
        var byteCount: Int

        /// Parses the first 64 KiB of `file`; nil when it does not start like a NRRD header.
        init?(file: ReadableFile) throws {
            let bytes = try file.read(count: min(file.size, 1 << 16), at: 0)
            guard bytes.starts(with: Array("NRRD000".utf8)) else { return nil }
            var lineStart = 0
            var end: Int?
            for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
                let line = String(decoding: bytes[lineStart..<index], as: UTF8.self).trimmingCharacters(in: "\r")
                lineStart = index + 1
                if line.isEmpty { end = lineStart; break }
                if line.hasPrefix("#") || line.hasPrefix("NRRD") { continue }
                guard let colon = line.firstRange(of: ": ") else { continue }
                // "key:=value" lines are key/value pairs of the file's content, not fields.
                if line[..<colon.lowerBound].contains(":=") { continue }
                fields[String(line[..<colon.lowerBound])] = String(line[colon.upperBound...])
            }
            // A detached header may end at the end of its file without an empty line.
            guard let end = end ?? (fields["data file"] != nil || fields["datafile"] != nil ? lineStart : nil) else { return nil }
            byteCount = end
        }
    }

    /// Teem's type names (and their usual synonyms) → medvol's voxel types.
    static func pixelType(named name: String) -> PixelType? {
        switch name {
        case "unsigned char", "uchar", "uint8", "uint8_t": .uint8
        case "signed char", "int8", "int8_t": .int8
        case "unsigned short", "ushort", "uint16", "uint16_t", "unsigned short int": .uint16
        case "short", "int16", "int16_t", "short int", "signed short", "signed short int": .int16
        case "unsigned int", "uint", "uint32", "uint32_t": .uint32
        case "int", "int32", "int32_t", "signed int": .int32
        case "unsigned long long int", "ulonglong", "uint64", "uint64_t", "unsigned long long": .uint64
        case "long long int", "longlong", "int64", "int64_t", "long long", "signed long long", "signed long long int": .int64
        case "float": .float32
        case "double": .float64
        default: nil
        }
    }

    /// Reads a 3D NRRD in LPS space, or a 4D one in a 4D space with a time axis as medvol and ITK write
    /// it, the Swift way (raw or gzip, attached or detached, either endianness; medvol's own gzip data
    /// inflated in parallel), or returns nil for what ITK's reader handles instead: colour, other spaces,
    /// per-axis spacings without directions, a fourth axis that mixes with space, skips, other
    /// encodings, lists of data files.
    static func open(path: String, file: ReadableFile) throws -> OpenedVolumeFile? {
        guard let header = try Header(file: file) else { return nil }
        let f = header.fields
        let known: Set<String> = ["type", "dimension", "space", "space dimension", "sizes", "space directions", "kinds",
                                  "endian", "encoding", "space origin", "data file", "datafile", "content",
                                  "space units", "measurement frame"]
        // 3D: `space: left-posterior-superior`; 4D: `space dimension: 4` and no named space (ITK's
        // reading of a 4D space leaves the coordinates as they are).
        let dimensions: Int
        switch (f["dimension"], f["space"], f["space dimension"]) {
        case ("3", "left-posterior-superior", nil): dimensions = 3
        case ("4", nil, "4"): dimensions = 4
        default: return nil
        }
        guard Set(f.keys).isSubset(of: known),
              let type = f["type"].flatMap(pixelType(named:)),
              let encoding = f["encoding"], encoding == "raw" || encoding == "gzip" || encoding == "gz",
              f["kinds"].map({ $0.split(separator: " ").allSatisfy { $0 == "domain" || $0 == "space" } }) ?? true,
              f["space units"].map({ $0.split(separator: " ").allSatisfy { $0 == "\"mm\"" } }) ?? true,
              let sizeText = f["sizes"], let directionText = f["space directions"], let originText = f["space origin"]
        else { return nil }
        let size = sizeText.split(separator: " ").compactMap { Int($0) }
        guard size.count == dimensions, size.allSatisfy({ $0 >= 1 }) else { return nil }
        let endian = f["endian"] ?? "little"
        guard endian == "little" || endian == "big" || type.byteSize == 1 else { return nil }
        func vector(_ text: Substring) -> [Double]? {
            guard text.hasPrefix("("), text.hasSuffix(")") else { return nil }
            let values = text.dropFirst().dropLast().split(separator: ",").compactMap { Double($0.trimmingCharacters(in: " ")) }
            return values.count == dimensions && values.allSatisfy(\.isFinite) ? values : nil
        }
        let vectors = directionText.split(separator: " ").map(vector)
        guard vectors.count == dimensions, let origin = vector(Substring(originText)) else { return nil }
        var axes: [SIMD3<Double>] = [], spacing: [Double] = []
        for case let values? in vectors.prefix(3) {
            // A spatial axis with a time component is a rotation in 4D: ITK's reading is the rule.
            guard dimensions == 3 || values[3] == 0 else { return nil }
            let axis = SIMD3(values[0], values[1], values[2])
            let norm = (axis * axis).sum().squareRoot()
            guard norm > 0 else { return nil }
            axes.append(axis * (1 / norm))  // as ITK normalises (vnl: multiply by the reciprocal)
            spacing.append(norm)
        }
        guard axes.count == 3 else { return nil }
        var timeSpacing: Double?
        if dimensions == 4 {
            // The time axis along the fourth coordinate only, pointing forwards, as medvol and ITK write it.
            guard let time = vectors[3], time[0] == 0, time[1] == 0, time[2] == 0, time[3] > 0 else { return nil }
            timeSpacing = time[3]
        }
        let direction = DirectionMatrix(columns: axes[0], axes[1], axes[2])
        guard direction.inverse != nil else { return nil }

        // Where the data are.
        let dataFile: ReadableFile
        let dataStart: Int
        if let name = f["data file"] ?? f["datafile"] {
            guard !name.contains(" "), !name.hasPrefix("LIST") else { return nil }
            let dataPath = name.hasPrefix("/") ? name : FileSystem.parentDirectory(of: path) + "/" + name
            let folder = FileSystem.parentDirectory(of: path)
            if let problem = FileSystem.referenceProblem(dataPath, within: folder) {
                throw MedVolError.corrupt(path, problem.reason(subject: "its data file", file: dataPath, folder: folder))
            }
            dataFile = try ReadableFile(path: dataPath)
            dataStart = 0
        } else {
            dataFile = file
            dataStart = header.byteCount
        }
        guard let byteCount = VoxelMath.checkedByteCount(elementBytes: type.byteSize, extents: size) else {
            throw MedVolError.corrupt(path, "impossible image size \(size)")
        }
        try checkVoxelBufferFitsInMemory(byteCount, path: path)
        let source: StoredVoxels.Source
        if encoding == "raw" {
            guard dataFile.size - dataStart >= byteCount else {
                throw MedVolError.corrupt(dataFile.path, "truncated: \(byteCount) bytes of voxels expected from byte \(dataStart), only \(dataFile.size - dataStart) there")
            }
            source = .file(dataFile, offset: dataStart)
        } else {
            source = try StoredVoxels.gzipSource(dataFile, startingAt: dataStart, offset: 0, needed: byteCount) { available in
                MedVolError.corrupt(dataFile.path, "truncated: \(byteCount) bytes of voxels expected, the compressed data hold \(available)")
            }
        }
        let voxels = StoredVoxels(source: source, storedType: type, elementCount: byteCount / type.byteSize,
                                  swapsBytes: endian == "big")
        var metadata = VolumeMetadata()
        metadata.source = path
        if dimensions == 4 && origin[3] != 0 {
            metadata.warnings.append(.timeOriginIgnored(origin[3]))
        }
        let geometry = ImageGeometry(size: size, spacing: SIMD3(spacing[0], spacing[1], spacing[2]),
                                     origin: SIMD3(origin[0], origin[1], origin[2]), direction: direction,
                                     timeSpacing: timeSpacing)
        return OpenedVolumeFile(info: VolumeInfo(geometry: geometry, pixelType: type, metadata: metadata), voxels: voxels)
    }
}
