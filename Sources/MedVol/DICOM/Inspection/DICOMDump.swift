#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every element of a DICOM file, as `medvol dump` lists it: as text in the manner of pydicom's
/// `print(ds)` and `gdcmdump`, or as the DICOM JSON model (PS3.18 Annex F).
///
/// ```swift
/// let dump = try DICOMDump(path: "IM0001.dcm", grep: "patient")
/// print(dump.text)
/// print(dump.json.prettyText)
/// ```
///
/// The file meta information (group 0002) comes first, then the data set in tag order, sequences
/// indented under their items. Pixel data are summarised and never read; values longer than
/// `valueWidth` characters are abbreviated, and binary values longer than 16 bytes are given as a
/// byte count.
public struct DICOMDump: Sendable {
    /// One listed element, with the items of a sequence (only those that hold a match when filtered).
    public struct Entry: Sendable {
        /// The element as read.
        public let element: DICOMElement
        /// The element's keyword and name (private elements named through their creator).
        public let name: DICOMElementName
        /// The VR the value is read with (see ``DICOMDataSet/effectiveVR(of:)``).
        public let vr: DICOMVR
        /// The value decoded with ``vr``.
        public let value: DICOMTypedValue
        /// For sequences: (item index from 0, that item's entries).
        public let items: [(index: Int, entries: [Entry])]
        /// Number of items of a sequence (all of them, listed or not).
        public let itemCount: Int
        /// The data set the element belongs to (its byte order and character set).
        let owner: DICOMDataSet
    }

    /// The file listed.
    public let file: DICOMFile
    /// The file meta information, filtered.
    public let metaEntries: [Entry]
    /// The data set, filtered.
    public let entries: [Entry]
    /// The filter: elements whose keyword or name (or private creator) contains it, ignoring case.
    public let grep: String?
    /// Longest value shown, in characters, before it is abbreviated.
    public var valueWidth = 72

    /// Reads `path` (every element; pixel data stay in the file) and lists it.
    public init(path: String, grep: String? = nil) throws {
        try self.init(file: DICOMFile.read(path: path, extent: .everything), grep: grep)
    }

    /// Lists a file already read.
    ///
    /// - Parameters:
    ///   - file: The file; read it with ``DICOMFile/ReadExtent/everything`` to list every element.
    ///   - grep: Keep only elements whose keyword, name or private creator contains this text, ignoring
    ///     case (with the sequences that hold them); nil or empty keeps everything.
    public init(file: DICOMFile, grep: String? = nil) {
        self.file = file
        let filter = grep.flatMap { $0.isEmpty ? nil : $0 }
        self.grep = filter
        metaEntries = Self.entries(of: file.fileMetaInformation, grep: filter)
        entries = Self.entries(of: file.dataSet, grep: filter)
    }

    /// Whether the filter left nothing.
    public var isEmpty: Bool { metaEntries.isEmpty && entries.isEmpty }

    private static func entries(of dataSet: DICOMDataSet, grep: String?) -> [Entry] {
        dataSet.elements.compactMap { element in entry(element, in: dataSet, grep: grep, forced: false) }
    }

    /// The entry of `element`, or nil when the filter leaves it out. `forced` keeps everything (the
    /// inside of a sequence that matched by its own name).
    private static func entry(_ element: DICOMElement, in dataSet: DICOMDataSet, grep: String?, forced: Bool) -> Entry? {
        let name = dataSet.elementName(element.tag)
        let matched = forced || grep.map(name.matches) ?? true
        let vr = dataSet.effectiveVR(of: element)
        let value = dataSet.typedValue(of: element, vr: vr)
        var items: [(index: Int, entries: [Entry])] = []
        var itemCount = 0
        if case .sequence(let sets) = value {
            itemCount = sets.count
            for (index, item) in sets.enumerated() {
                let inner = item.elements.compactMap { entry($0, in: item, grep: grep, forced: matched) }
                if matched || !inner.isEmpty { items.append((index, inner)) }
            }
        }
        guard matched || !items.isEmpty else { return nil }
        return Entry(element: element, name: name, vr: vr, value: value,
                     items: items, itemCount: itemCount, owner: dataSet)
    }

    // MARK: Text

    /// The listing, one element per line, ending with a newline.
    public var text: String {
        var lines: [String] = []
        let width = nameColumnWidth
        lines.append("# \(file.path)")
        if file.fileMetaInformation.elements.isEmpty && grep == nil {
            lines.append("# No File Meta Information (\(file.lacksPreamble ? "no preamble: an old ACR-NEMA style file" : "group 0002 absent"))")
        } else if !metaEntries.isEmpty {
            lines.append("# File Meta Information")
            for entry in metaEntries { appendLines(entry, depth: 0, width: width, to: &lines) }
        }
        lines.append("# Data Set: \(file.transferSyntax.name)")
        for entry in entries { appendLines(entry, depth: 0, width: width, to: &lines) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Width of the tag-and-name column: the longest name with its indentation, within bounds.
    private var nameColumnWidth: Int {
        var longest = 0
        func measure(_ entry: Entry, depth: Int) {
            longest = max(longest, 4 * depth + entry.name.name.count)
            for item in entry.items { item.entries.forEach { measure($0, depth: depth + 1) } }
        }
        (metaEntries + entries).forEach { measure($0, depth: 0) }
        return min(max(longest, 32), 40)
    }

    private func appendLines(_ entry: Entry, depth: Int, width: Int, to lines: inout [String]) {
        let indent = String(repeating: " ", count: 4 * depth)
        let name = entry.name.name
        let padding = String(repeating: " ", count: max(2, width - 4 * depth - name.count + 2))
        lines.append("\(indent)\(entry.element.tag) \(name)\(padding)\(entry.vr.rawValue)  \(valueText(entry))")
        for item in entry.items {
            lines.append("\(indent)  > item \(item.index + 1) of \(entry.itemCount)")
            for inner in item.entries { appendLines(inner, depth: depth + 1, width: width, to: &lines) }
        }
    }

    /// The value as the listing shows it.
    public func valueText(_ entry: Entry) -> String {
        let formatter = DICOMValueFormatter(valueWidth: valueWidth)
        switch entry.value {
        case .sequence:
            return entry.itemCount == 1 ? "1 item" : "\(entry.itemCount) items"
        case .leftInFile(let offset, let length):
            return leftInFileText(entry, offset: offset, length: length)
        case .bytes(let bytes) where Self.isPixelData(entry.element.tag):
            return "\(bytes.count) bytes of pixel data\(pixelSummary(entry.owner)) (not shown)"
        case .integers, .decimals:
            // Decimal and integer strings as written in the file ("-1e-016", not -1e-16).
            if entry.vr == .DS || entry.vr == .IS, let bytes = entry.element.rawBytes {
                return formatter.numbers(entry.owner.textValues(bytes, vr: entry.vr))
            }
            return formatter.text(entry.value, vr: entry.vr, isLittleEndian: entry.owner.isLittleEndian)
        default:
            return formatter.text(entry.value, vr: entry.vr, isLittleEndian: entry.owner.isLittleEndian)
        }
    }

    private func leftInFileText(_ entry: Entry, offset: Int, length: Int?) -> String {
        if let length {
            return Self.isPixelData(entry.element.tag) ? "\(length) bytes of pixel data\(pixelSummary(entry.owner)) (not shown)"
                            : "\(length) bytes at byte \(offset) (not read)"
        }
        let syntax = file.transferSyntax.name
        guard let fragments = try? encapsulatedExtent(from: offset) else {
            return "encapsulated \(syntax)\(pixelSummary(entry.owner)) (not shown)"
        }
        let count = fragments.fragments
        return "encapsulated \(syntax): \(count) fragment\(count == 1 ? "" : "s"), \(fragments.bytes) bytes\(pixelSummary(entry.owner)) (not shown)"
    }

    /// Pixel Data, Float Pixel Data or Double Float Pixel Data.
    private static func isPixelData(_ tag: DICOMTag) -> Bool {
        tag == .pixelData || tag == .floatPixelData || tag == .doubleFloatPixelData
    }

    /// ", 1 frame of 384×384, 16 bits allocated" from the image pixel elements.
    private func pixelSummary(_ dataSet: DICOMDataSet) -> String {
        guard let rows = dataSet.int(.rows), let columns = dataSet.int(.columns) else { return "" }
        let frames = dataSet.int(.numberOfFrames) ?? 1
        var text = ", \(frames) frame\(frames == 1 ? "" : "s") of \(columns)×\(rows)"
        if let samples = dataSet.int(.samplesPerPixel), samples > 1 { text += "×\(samples)" }
        if let bits = dataSet.int(.bitsAllocated) { text += ", \(bits) bits allocated" }
        return text
    }

    /// Fragments and their total size of encapsulated pixel data starting at `offset`, and the offset
    /// after the sequence delimiter. The item headers are read; the fragments are not.
    func encapsulatedExtent(from offset: Int) throws -> (fragments: Int, bytes: Int, end: Int) {
        let (items, end) = try EncapsulatedPixelData.items(source: PixelByteSource(file), start: offset)
        let fragments = items.dropFirst()   // the first item is the basic offset table
        return (fragments.count, fragments.reduce(0) { $0 + $1.count }, end)
    }

    // MARK: JSON

    /// The DICOM JSON model (PS3.18 Annex F) of the file meta information and the data set, in tag
    /// order: `{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^John"}]}, …}`.
    ///
    /// Numbers (IS, DS, US, SS, UL, SL, SV, UV, FL, FD) are JSON numbers; binary values that were read
    /// are `InlineBinary` (base64); pixel data, and values too large to be read, are a `BulkDataURI`
    /// naming the file and the byte range (`file:///…?offset=N&length=M`), or left out — no `Value` —
    /// for a deflated file, whose offsets have no meaning in the file on disk. Empty values have no
    /// `Value` key; empty values among several are `null`. An IS or DS value that is not a number
    /// (scanners write such things) stays a string: the model has no place for it, but dropping it
    /// would hide it (pydicom refuses the element).
    public var json: JSONValue {
        .object(JSONObject((metaEntries + entries).map { (key: Self.jsonKey($0.element.tag), value: jsonElement($0)) }))
    }

    static func jsonKey(_ tag: DICOMTag) -> String {
        hex4(tag.group) + hex4(tag.element)
    }

    private func jsonElement(_ entry: Entry) -> JSONValue {
        var object = JSONObject()
        object["vr"] = .string(entry.vr.rawValue)
        switch entry.value {
        case .empty:
            break
        case .strings(let values):
            object["Value"] = .array(values.map { value in
                if value.isEmpty { return .null }
                switch entry.vr {
                case .IS: if let number = Int(value) { return .integer(number) }
                case .DS: if let number = Double(value), number.isFinite { return .number(number) }
                default: break
                }
                return .string(value)
            })
        case .personNames(let names):
            object["Value"] = .array(names.map { name in
                let groups = name.groups
                if groups.isEmpty { return .null }
                return .object(JSONObject(groups.map { (key: $0.key, value: JSONValue.string($0.value)) }))
            })
        case .integers(let values):
            object["Value"] = .array(values.map { Int(exactly: $0).map(JSONValue.integer) ?? .number(Double($0)) })
        case .unsignedIntegers(let values):
            object["Value"] = .array(values.map { Int(exactly: $0).map(JSONValue.integer) ?? .number(Double($0)) })
        case .decimals(let values):
            object["Value"] = .array(values.map { .number($0) })
        case .tags(let tags):
            object["Value"] = .array(tags.map { .string(Self.jsonKey($0)) })
        case .bytes(let bytes):
            object["InlineBinary"] = .string(Base64.encode(bytes))
        case .sequence:
            if entry.itemCount > 0 {
                object["Value"] = .array(entry.items.map { item in
                    .object(JSONObject(item.entries.map { (key: Self.jsonKey($0.element.tag), value: jsonElement($0)) }))
                })
            }
        case .leftInFile(let offset, let length):
            if let uri = bulkDataURI(offset: offset, length: length) { object["BulkDataURI"] = .string(uri) }
        }
        return .object(object)
    }

    /// `file:///absolute/path?offset=N&length=M` for a value left in the file; nil for deflated files.
    private func bulkDataURI(offset: Int, length: Int?) -> String? {
        guard file.inflatedDataSet == nil else { return nil }
        // Encapsulated: the whole value, from its first item to the end of its sequence delimiter.
        let byteCount = length ?? (try? encapsulatedExtent(from: offset)).map { $0.end - offset }
        var uri = "file://" + Self.percentEncodedPath(FileSystem.absolutePath(file.path)) + "?offset=\(offset)"
        if let byteCount { uri += "&length=\(byteCount)" }
        return uri
    }

    static func percentEncodedPath(_ path: String) -> String {
        var output = ""
        for byte in path.utf8 {
            let character = Character(Unicode.Scalar(byte))
            if byte < 0x80 && (character.isLetter || character.isNumber || "/-._~".contains(character)) {
                output.append(character)
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                output += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return output
    }
}

/// Standard base64 (RFC 4648) with padding, for the JSON model's InlineBinary.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: ArraySlice<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let remaining = bytes.endIndex - index
            let b0 = bytes[index]
            let b1 = remaining > 1 ? bytes[index + 1] : 0
            let b2 = remaining > 2 ? bytes[index + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            output.append(remaining > 1 ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            output.append(remaining > 2 ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += min(3, remaining)
        }
        return String(decoding: output, as: UTF8.self)
    }
}
