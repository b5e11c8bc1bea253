/// The `.npy` format (NumPy's `numpy/lib/format.py`): a magic string, a version, a Python dict literal
/// `{'descr': '<i2', 'fortran_order': False, 'shape': (3, 4, 5), }` padded so that the data starts at a
/// multiple of 64, then the array's bytes.
enum NumPyArray {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// Data starts at a multiple of this (numpy's ARRAY_ALIGN).
    static let alignment = 64
    /// numpy leaves room after the dict for the first axis to grow to this many digits.
    static let growthAxisMaximumDigits = 21
    /// Headers longer than this are refused when reading (numpy's own default limit is 10,000).
    static let maximumHeaderLength = 1 << 20

    /// An element type numpy can describe and medvol can hold.
    struct DType {
        var pixelType: PixelType
        /// True when the stored bytes are big-endian and must be swapped.
        var isBigEndian: Bool

        /// Parses a dtype string such as `<i2`, `>f8`, `|u1`, `|b1`, `?`. `path` names the file in errors.
        init(descriptor: String, path: String) throws {
            var text = Substring(descriptor)
            var order: Character = "="
            if let first = text.first, "<>|=".contains(first) {
                order = first
                text = text.dropFirst()
            }
            guard let kind = text.first else {
                throw MedVolError.unsupported(path, "unsupported dtype '\(descriptor)'")
            }
            let sizeText = text.dropFirst()
            let size = sizeText.isEmpty ? (kind == "?" ? 1 : nil) : Int(sizeText)
            func refuse(_ why: String) -> MedVolError {
                MedVolError.unsupported(path, "unsupported dtype '\(descriptor)' (\(why))")
            }
            isBigEndian = order == ">"
            switch (kind, size) {
            case ("?", 1), ("b", 1):
                // numpy's bool, read as uint8 0/1.
                pixelType = .uint8
            case ("u", let bytes?), ("i", let bytes?):
                guard let type = PixelType.integer(bytes: bytes, signed: kind == "i") else {
                    throw refuse("\(bytes)-byte integers")
                }
                pixelType = type
            case ("f", 4): pixelType = .float32
            case ("f", 8): pixelType = .float64
            case ("f", 2): throw refuse("half-precision float")
            case ("f", _): throw refuse("extended-precision float")
            case ("c", _): throw refuse("complex")
            case ("U", _), ("S", _), ("a", _): throw refuse("text")
            case ("O", _): throw refuse("Python objects")
            case ("V", _): throw refuse("raw or structured records")
            case ("M", _), ("m", _): throw refuse("dates and times")
            default: throw refuse("unknown type")
            }
            if pixelType.byteSize == 1 { isBigEndian = false }
        }
    }

    /// What an `.npy` header says.
    struct Header {
        var descriptor: String
        var dtype: DType
        var fortranOrder: Bool
        var shape: [Int]
        /// Bytes from the start of the file to the first data byte.
        var headerLength: Int
        /// Bytes of the array data (checked not to overflow).
        var dataByteCount: Int

        var elementCount: Int { shape.reduce(1, *) }
    }

    // MARK: Reading

    /// Reads and checks the header; the stream is left at the first data byte.
    static func readHeader(from stream: any ByteStream) throws -> Header {
        let path = stream.path
        let preamble: [UInt8]
        do {
            preamble = try stream.read(count: 8)
        } catch {
            throw MedVolError(.unrecognizedFormat, path: path, reason: "not a NumPy .npy file (too short for its header)")
        }
        guard Array(preamble[0..<6]) == magic else {
            throw MedVolError(.unrecognizedFormat, path: path, reason: "not a NumPy .npy file (no \\x93NUMPY magic)")
        }
        let major = preamble[6]
        let lengthBytes: [UInt8]
        switch major {
        case 1: lengthBytes = try stream.read(count: 2)
        case 2, 3: lengthBytes = try stream.read(count: 4)
        default: throw MedVolError.unsupported(path, "unsupported .npy format version \(major).\(preamble[7])")
        }
        let declared = lengthBytes.enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard declared <= maximumHeaderLength else {
            throw MedVolError.corrupt(path, ".npy header claims \(declared) bytes, more than the \(maximumHeaderLength) allowed")
        }
        let textBytes = try stream.read(count: declared)
        // Versions 1 and 2 are latin-1, version 3 UTF-8; the keys and values medvol reads are ASCII either way.
        let text = major == 3 ? String(decoding: textBytes, as: UTF8.self)
                              : String(String.UnicodeScalarView(textBytes.map { Unicode.Scalar($0) }))
        let dictionary: [String: PythonLiteral]
        do {
            var parser = PythonLiteralParser(text: text)
            guard case .dictionary(let parsed) = try parser.parseDocument() else {
                throw MedVolError(.corruptFile, reason: "the header is not a dict")
            }
            dictionary = parsed
        } catch let error as MedVolError {
            throw MedVolError.corrupt(path, "bad .npy header: \(error.reason)")
        }
        guard case .string(let descriptor)? = dictionary["descr"] else {
            if case .list? = dictionary["descr"] {
                throw MedVolError.unsupported(path, "unsupported dtype (structured array with named fields)")
            }
            throw MedVolError.corrupt(path, "bad .npy header: no 'descr' string")
        }
        guard case .bool(let fortranOrder)? = dictionary["fortran_order"] else {
            throw MedVolError.corrupt(path, "bad .npy header: no 'fortran_order' True/False")
        }
        guard case .tuple(let axes)? = dictionary["shape"] else {
            throw MedVolError.corrupt(path, "bad .npy header: no 'shape' tuple")
        }
        var shape: [Int] = []
        for axis in axes {
            guard case .integer(let extent) = axis, extent >= 0 else {
                throw MedVolError.corrupt(path, "bad .npy header: shape entries must be non-negative integers")
            }
            shape.append(extent)
        }
        let dtype = try DType(descriptor: descriptor, path: path)
        // Refuse sizes whose byte count overflows before anything is allocated.
        guard let dataByteCount = VoxelMath.checkedByteCount(elementBytes: dtype.pixelType.byteSize, extents: shape) else {
            throw MedVolError.corrupt(path, "array shape \(shape) is impossibly large")
        }
        return Header(descriptor: descriptor, dtype: dtype, fortranOrder: fortranOrder, shape: shape,
                      headerLength: preamble.count + lengthBytes.count + declared, dataByteCount: dataByteCount)
    }

    /// The array data that follow `header`, at `source`, as C-order values in native byte order.
    static func storedVoxels(_ header: Header, source: StoredVoxels.Source) -> StoredVoxels {
        StoredVoxels(source: source, storedType: header.dtype.pixelType, elementCount: header.elementCount,
                     swapsBytes: header.dtype.isBigEndian,
                     fortranShape: header.fortranOrder && header.shape.count > 1 ? header.shape : nil)
    }

    /// Reads a whole small array (metadata in an `.npz`) as Doubles, in C order.
    static func readDoubles(from stream: any ByteStream) throws -> (shape: [Int], values: [Double]) {
        let header = try readHeader(from: stream)
        guard header.elementCount <= 1 << 20 else {
            throw MedVolError.corrupt(stream.path, "metadata array of shape \(header.shape) is too large")
        }
        var raw = [UInt8](repeating: 0, count: header.dataByteCount)
        try raw.withUnsafeMutableBytes { try storedVoxels(header, source: .stream(stream, finish: {})).readAll(into: $0) }
        let values = raw.withUnsafeBytes { bytes in
            (0..<header.elementCount).map { Volume.readValue(bytes.baseAddress!, index: $0, type: header.dtype.pixelType) }
        }
        return (header.shape, values)
    }

    /// Copies a Fortran-order array (first axis fastest) into C order (last axis fastest), same shape.
    static func reverseAxes(of source: UnsafeRawBufferPointer, shape: [Int], width: Int,
                            into destination: UnsafeMutableRawBufferPointer) {
        let count = shape.reduce(1, *)
        guard count > 0 else { return }
        // Stride of each axis in the Fortran layout, in elements.
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in 1..<shape.count { strides[axis] = strides[axis - 1] * shape[axis - 1] }
        let last = shape.count - 1
        let rows = count / shape[last]
        var index = [Int](repeating: 0, count: shape.count)
        var sourceRow = 0  // Fortran offset of (index[0], …, index[last-1], 0)
        for row in 0..<rows {
            let target = row * shape[last]
            var offset = sourceRow
            for element in 0..<shape[last] {
                (destination.baseAddress! + (target + element) * width)
                    .copyMemory(from: source.baseAddress! + offset * width, byteCount: width)
                offset += strides[last]
            }
            // Advance the odometer over every axis but the last.
            var axis = last - 1
            while axis >= 0 {
                index[axis] += 1
                sourceRow += strides[axis]
                if index[axis] < shape[axis] { break }
                sourceRow -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    // MARK: Writing

    /// The header numpy writes for a C-order array (`np.save`), byte for byte: version 1.0 (2.0 when the
    /// dict is too long for a 16-bit length), the dict with spare room for the first axis to grow, spaces
    /// and a newline up to a multiple of 64 bytes.
    static func header(descriptor: String, shape: [Int]) -> [UInt8] {
        var dictionary = "{'descr': '\(descriptor)', 'fortran_order': False, 'shape': \(shapeText(shape)), }"
        if let first = shape.first {
            dictionary += String(repeating: " ", count: max(0, growthAxisMaximumDigits - String(first).count))
        }
        let text = Array(dictionary.utf8)
        for (major, lengthBytes) in [(UInt8(1), 2), (UInt8(2), 4)] {
            let prefix = magic.count + 2 + lengthBytes
            let textLength = text.count + 1  // with the final newline
            let padding = alignment - (prefix + textLength) % alignment
            let declared = textLength + padding
            guard lengthBytes == 4 || declared <= Int(UInt16.max) else { continue }
            var bytes = magic + [major, 0]
            for byte in 0..<lengthBytes { bytes.append(UInt8(truncatingIfNeeded: declared >> (8 * byte))) }
            bytes += text
            bytes += [UInt8](repeating: 0x20, count: padding)
            bytes.append(0x0A)
            return bytes
        }
        preconditionFailure("unreachable: version 2.0 takes any header")
    }

    /// A shape as Python writes the tuple: `()`, `(3,)`, `(3, 4, 5)`.
    static func shapeText(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// A complete little-endian float64 `.npy` file (metadata arrays of an `.npz`).
    static func file(doubles values: [Double], shape: [Int]) -> [UInt8] {
        precondition(values.count == shape.reduce(1, *))
        var bytes = header(descriptor: PixelType.float64.numpyDescriptor, shape: shape)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        return bytes
    }
}

// MARK: - The Python literals of an .npy header

/// A Python literal as found in an `.npy` header.
enum PythonLiteral: Equatable {
    case string(String)
    case integer(Int)
    case bool(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dictionary([String: PythonLiteral])
}

/// Parses the subset of Python literal syntax that `repr` of an `.npy` header dict produces: dicts,
/// tuples, lists, strings, integers (with Python 2's `L` suffix), True, False and None.
struct PythonLiteralParser {
    private let characters: [Character]
    private var position = 0
    private var depth = 0

    init(text: String) { characters = Array(text) }

    mutating func parseDocument() throws -> PythonLiteral {
        let value = try parseValue()
        skipWhitespace()
        guard position == characters.count else { throw error("unexpected text after the dict") }
        return value
    }

    private func error(_ reason: String) -> MedVolError {
        MedVolError(.corruptFile, reason: reason)
    }

    private mutating func skipWhitespace() {
        while position < characters.count, characters[position].isWhitespace { position += 1 }
    }

    private mutating func parseValue() throws -> PythonLiteral {
        skipWhitespace()
        guard position < characters.count else { throw error("unexpected end of the header") }
        let character = characters[position]
        switch character {
        case "{": return try parseDictionary()
        case "(": return .tuple(try parseSequence(closing: ")"))
        case "[": return .list(try parseSequence(closing: "]"))
        case "'", "\"": return .string(try parseString())
        case "-", "0"..."9": return try parseInteger()
        default:
            for (word, value) in [("True", PythonLiteral.bool(true)), ("False", .bool(false)), ("None", .none)] {
                if characters.count - position >= word.count, String(characters[position..<position + word.count]) == word {
                    position += word.count
                    return value
                }
            }
            throw error("unexpected '\(character)'")
        }
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= 32 else { throw error("nested too deeply") }
    }

    private mutating func parseDictionary() throws -> PythonLiteral {
        try enter()
        defer { depth -= 1 }
        position += 1
        var dictionary: [String: PythonLiteral] = [:]
        while true {
            skipWhitespace()
            guard position < characters.count else { throw error("unterminated dict") }
            if characters[position] == "}" {
                position += 1
                return .dictionary(dictionary)
            }
            guard case .string(let key) = try parseValue() else { throw error("dict keys must be strings") }
            skipWhitespace()
            guard position < characters.count, characters[position] == ":" else { throw error("expected ':' after '\(key)'") }
            position += 1
            dictionary[key] = try parseValue()
            skipWhitespace()
            guard position < characters.count else { throw error("unterminated dict") }
            if characters[position] == "," {
                position += 1
            } else if characters[position] != "}" {
                throw error("expected ',' or '}'")
            }
        }
    }

    private mutating func parseSequence(closing: Character) throws -> [PythonLiteral] {
        try enter()
        defer { depth -= 1 }
        position += 1
        var elements: [PythonLiteral] = []
        while true {
            skipWhitespace()
            guard position < characters.count else { throw error("unterminated \(closing == ")" ? "tuple" : "list")") }
            if characters[position] == closing {
                position += 1
                return elements
            }
            elements.append(try parseValue())
            skipWhitespace()
            guard position < characters.count else { throw error("unterminated sequence") }
            if characters[position] == "," {
                position += 1
            } else if characters[position] != closing {
                throw error("expected ',' or '\(closing)'")
            }
        }
    }

    private mutating func parseString() throws -> String {
        let quote = characters[position]
        position += 1
        var result = ""
        while position < characters.count {
            let character = characters[position]
            position += 1
            if character == quote { return result }
            if character == "\\" {
                guard position < characters.count else { break }
                let escaped = characters[position]
                position += 1
                switch escaped {
                case "n": result.append("\n")
                case "t": result.append("\t")
                default: result.append(escaped)
                }
            } else {
                result.append(character)
            }
        }
        throw error("unterminated string")
    }

    private mutating func parseInteger() throws -> PythonLiteral {
        let start = position
        if characters[position] == "-" { position += 1 }
        while position < characters.count, characters[position].isASCII, characters[position].isNumber { position += 1 }
        guard let value = Int(String(characters[start..<position])) else { throw error("bad integer") }
        if position < characters.count, characters[position] == "L" || characters[position] == "l" { position += 1 }
        return .integer(value)
    }
}
