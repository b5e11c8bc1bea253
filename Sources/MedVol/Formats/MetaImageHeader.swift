/// The fields of a MetaImage header (`Key = Value` lines up to `ElementDataFile`) and where the voxels
/// are. ``MetaImageReader`` reads the geometry from them for the headers ITK and medvol write (ITK reads
/// the others); medvol reads binary voxels itself in both cases because ITK 5.2's MetaImage
/// reader accepts a truncated data file or a damaged compressed stream without an error (it prints
/// "data not read completely" or "Uncompress failed" and leaves the rest of the buffer as it was).
struct MetaImageHeader {
    /// Where the voxel bytes are.
    enum DataLocation: Equatable {
        /// In the header file, from this byte offset (`ElementDataFile = LOCAL`).
        case local(offset: Int)
        /// In one separate file.
        case file(path: String)
        /// Anything else (`LIST`, file-name patterns, ASCII data): left to ITK.
        case other
    }

    var fields: [String: String] = [:]
    var location: DataLocation = .other
    /// Every line before `ElementDataFile` was `Key = Value` (nothing the MetaIO library might read
    /// some other way).
    var onlyFieldLines = true

    var isCompressed: Bool { fields["CompressedData"]?.lowercased() == "true" }
    var isBigEndian: Bool {
        (fields["BinaryDataByteOrderMSB"] ?? fields["ElementByteOrderMSB"])?.lowercased() == "true"
    }
    var headerSize: Int { fields["HeaderSize"].flatMap { Int($0) } ?? 0 }
    var compressedDataSize: Int? { fields["CompressedDataSize"].flatMap { Int($0) } }

    /// The first field the MetaIO library would choke on, or nil. It loops for as long as `NDims` says
    /// (a damaged `NDims = 99999999999` hangs it), so counts must be small integers before ITK reads.
    var unusableField: String? {
        guard let text = fields["NDims"] else { return nil }  // not MetaImage at all: ITK says so
        guard let dimensions = Int(text), (1...16).contains(dimensions) else { return "NDims" }
        if let channels = fields["ElementNumberOfChannels"], !(Int(channels).map { (1...4096).contains($0) } ?? false) {
            return "ElementNumberOfChannels"
        }
        if let sizes = fields["DimSize"] {
            let extents = sizes.split(separator: " ").map { Int($0) }
            guard extents.count == dimensions, extents.allSatisfy({ ($0 ?? 0) >= 1 }) else { return "DimSize" }
        }
        return nil
    }

    /// The largest header medvol looks through for `ElementDataFile`.
    static let maximumHeaderLength = 1 << 20

    /// Reads the header of an open `.mhd` or `.mha` file. Data file names are resolved against the
    /// header's folder, as the MetaIO library does.
    init(file: ReadableFile) throws {
        let path = file.path
        let text = try file.read(count: min(file.size, Self.maximumHeaderLength), at: 0)
        var lineStart = 0
        while lineStart < text.count {
            let lineEnd = text[lineStart...].firstIndex(of: 0x0A) ?? text.count
            let line = String(decoding: text[lineStart..<lineEnd], as: UTF8.self)
            let next = lineEnd + 1
            if line.firstIndex(of: "=") == nil && !line.trimmingCharacters(in: " \t\r").isEmpty {
                onlyFieldLines = false
            }
            if let equals = line.firstIndex(of: "=") {
                let key = line[..<equals].trimmingCharacters(in: " \t\r")
                let value = line[line.index(after: equals)...].trimmingCharacters(in: " \t\r")
                fields[key] = value
                if key == "ElementDataFile" {
                    location = Self.location(of: value, localOffset: min(next, file.size), headerPath: path,
                                             binary: fields["BinaryData"]?.lowercased() == "true")
                    return
                }
            }
            lineStart = next
        }
    }

    private static func location(of value: String, localOffset: Int, headerPath: String, binary: Bool) -> DataLocation {
        guard binary else { return .other }
        if value.lowercased() == "local" { return .local(offset: localOffset) }
        if value == "LIST" || value.contains("%") || value.contains(" ") || value.isEmpty { return .other }
        if value.hasPrefix("/") { return .file(path: value) }
        return .file(path: FileSystem.parentDirectory(of: headerPath) + "/" + value)
    }
}

extension StringProtocol {
    /// The text without the given characters at either end.
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
