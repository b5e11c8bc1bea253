/// MetaImage (`.mhd` + `.raw`/`.zraw`, `.mha`) read in Swift, without loading ITK, for the headers that
/// ITK, SimpleITK and medvol write: binary 3D or 4D images whose header holds only the fields below. The
/// geometry is what ITK 5.2's MetaImageIO gives for the same header (checked field by field against it in
/// `MetaImageReaderTests`):
///
/// - `DimSize` is the size; `ElementSpacing` the spacing and `Offset` the origin (their fourth numbers,
///   for 4D, the time spacing and the time origin);
/// - `TransformMatrix` holds the direction column by column: index axis *a*'s direction is numbers
///   `a·N ..< a·N + 3` (N = `NDims`); a 4D matrix must be the identity on its fourth row and column;
/// - `AnatomicalOrientation` and `CenterOfRotation` do not change the geometry; a `Comment` (a streamed
///   `.mha` pads its header with one) changes nothing.
///
/// Anything else — another key (`ElementSize`, `Position`, `Rotation`, lines without `=`, …), ASCII or listed data,
/// 2D or 5D images, numbers that do not parse — returns nil, and the file is read through ITK as before.
enum MetaImageReader {
    /// The fields the Swift reader knows; any other sends the file to ITK.
    static let knownFields: Set<String> = [
        "ObjectType", "NDims", "BinaryData", "BinaryDataByteOrderMSB", "ElementByteOrderMSB", "CompressedData",
        "CompressedDataSize", "TransformMatrix", "Offset", "CenterOfRotation", "AnatomicalOrientation",
        "ElementSpacing", "DimSize", "ElementNumberOfChannels", "ElementType", "ElementDataFile", "HeaderSize",
        "Comment",
    ]

    /// The voxel type of each `ElementType` ITK maps to one medvol has.
    static let elementTypes: [String: PixelType] = [
        "MET_UCHAR": .uint8, "MET_CHAR": .int8, "MET_USHORT": .uint16, "MET_SHORT": .int16,
        "MET_UINT": .uint32, "MET_INT": .int32, "MET_ULONG_LONG": .uint64, "MET_LONG_LONG": .int64,
        "MET_FLOAT": .float32, "MET_DOUBLE": .float64,
    ]

    /// What a header says, when the Swift reader can read it.
    struct Layout {
        var pixelType: PixelType
        var components: Int
        var geometry: ImageGeometry
        /// The fourth axis's origin (`Offset`'s fourth number) of a 4D image.
        var timeOrigin: Double

        /// nil when the header is one for ITK (see ``MetaImageReader``).
        init?(header: MetaImageHeader) {
            let fields = header.fields
            guard header.onlyFieldLines, header.location != .other, header.unusableField == nil,
                  fields.keys.allSatisfy(MetaImageReader.knownFields.contains),
                  fields["ObjectType"] == "Image", fields["BinaryData"]?.lowercased() == "true",
                  let dimensions = fields["NDims"].flatMap({ Int($0) }), dimensions == 3 || dimensions == 4,
                  let type = fields["ElementType"].flatMap({ MetaImageReader.elementTypes[$0] }),
                  let size = Self.integers(fields["DimSize"], count: dimensions), size.allSatisfy({ $0 >= 1 }),
                  let spacing = Self.numbers(fields["ElementSpacing"], count: dimensions),
                  spacing.allSatisfy({ $0 > 0 && $0.isFinite }),
                  let offset = Self.numbers(fields["Offset"], count: dimensions), offset.allSatisfy(\.isFinite),
                  let matrix = Self.numbers(fields["TransformMatrix"], count: dimensions * dimensions),
                  matrix.allSatisfy(\.isFinite)
            else { return nil }
            var channels = 1
            if let text = fields["ElementNumberOfChannels"] {
                guard let value = Int(text), value >= 1 else { return nil }
                channels = value
            }
            if dimensions == 4 {
                // The fourth row and column of a 4D matrix: the identity's, or ITK's reading is the rule.
                for index in 0..<4 where matrix[3 * 4 + index] != (index == 3 ? 1 : 0) || matrix[index * 4 + 3] != (index == 3 ? 1 : 0) {
                    return nil
                }
            }
            let columns = (0..<3).map { axis in
                SIMD3(matrix[axis * dimensions], matrix[axis * dimensions + 1], matrix[axis * dimensions + 2])
            }
            let direction = DirectionMatrix(columns: columns[0], columns[1], columns[2])
            guard direction.inverse != nil else { return nil }  // ITK's reading, and its error
            pixelType = type
            components = channels
            geometry = ImageGeometry(size: size, spacing: SIMD3(spacing[0], spacing[1], spacing[2]),
                                     origin: SIMD3(offset[0], offset[1], offset[2]), direction: direction,
                                     timeSpacing: dimensions == 4 ? spacing[3] : nil)
            timeOrigin = dimensions == 4 ? offset[3] : 0
        }

        private static func numbers(_ text: String?, count: Int) -> [Double]? {
            guard let parts = text?.split(whereSeparator: { $0 == " " || $0 == "\t" }), parts.count == count else { return nil }
            let values = parts.compactMap { Double($0) }
            return values.count == count ? values : nil
        }

        private static func integers(_ text: String?, count: Int) -> [Int]? {
            guard let parts = text?.split(whereSeparator: { $0 == " " || $0 == "\t" }), parts.count == count else { return nil }
            let values = parts.compactMap { Int($0) }
            return values.count == count ? values : nil
        }
    }

    /// Opens a MetaImage file the Swift way, or returns nil when it needs ITK's reader.
    static func open(path: String) throws -> OpenedVolumeFile? {
        let file = try ReadableFile(path: path)
        guard file.size > 0 else { return nil }  // ITK's reading says what is wrong
        let header = try MetaImageHeader(file: file)
        guard let layout = Layout(header: header) else { return nil }
        guard let byteCount = VoxelMath.checkedByteCount(elementBytes: layout.components * layout.pixelType.byteSize,
                                                         extents: layout.geometry.size) else {
            throw MedVolError.corrupt(path, "impossible image size \(layout.geometry.size)")
        }
        try checkVoxelBufferFitsInMemory(byteCount, path: path)
        guard let voxels = try MetaImageVoxels(header: header, headerFile: file, byteCount: byteCount) else { return nil }
        var metadata = VolumeMetadata()
        metadata.source = path
        if layout.timeOrigin != 0 {
            metadata.warnings.append(.timeOriginIgnored(layout.timeOrigin))
        }
        return OpenedVolumeFile(info: VolumeInfo(geometry: layout.geometry, pixelType: layout.pixelType,
                                                 components: layout.components, metadata: metadata),
                                voxels: try voxels.stored(as: layout.pixelType))
    }
}
