/// Siemens "CSA" private headers (SV10 and the older CSA1 layout): named values that Siemens stores in
/// (0029,xx10) "CSA Image Header Info" and (0029,xx20) "CSA Series Header Info".
struct SiemensCSAHeader {
    /// Values by name, each a list of strings as stored.
    private(set) var values: [String: [String]] = [:]

    init?(_ bytes: ArraySlice<UInt8>) {
        let data = Array(bytes)
        guard data.count >= 16 else { return nil }
        func int32(_ offset: Int) -> Int? {
            guard offset >= 0, offset + 4 <= data.count else { return nil }
            return Int(Int32(littleEndian: data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int32.self) }))
        }
        var offset = 0
        if data[0] == 0x53, data[1] == 0x56, data[2] == 0x31, data[3] == 0x30 { offset = 8 }  // "SV10" + 4 bytes
        guard let tagCount = int32(offset), tagCount > 0, tagCount <= 1024 else { return nil }
        offset += 8
        for _ in 0..<tagCount {
            guard offset + 84 <= data.count else { return nil }
            let nameBytes = data[offset..<offset + 64].prefix { $0 != 0 }
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard let itemCount = int32(offset + 76), itemCount >= 0, itemCount <= 4096 else { return nil }
            offset += 84
            var items: [String] = []
            for _ in 0..<itemCount {
                guard let itemLength = int32(offset + 4), itemLength >= 0, offset + 16 + itemLength <= data.count else { return nil }
                let valueBytes = data[offset + 16..<offset + 16 + itemLength].prefix { $0 != 0 }
                let text = String(decoding: valueBytes, as: UTF8.self).trimmingPadding()
                if !text.isEmpty { items.append(text) }
                offset += 16 + ((itemLength + 3) / 4) * 4
            }
            values[name] = items
        }
    }

    func numbers(_ name: String) -> [Double] { (values[name] ?? []).compactMap { Double($0) } }
}

/// How a mosaic frame tiles the slices of one volume, and the true slices' geometry. Two vendors store
/// fMRI and diffusion this way, each with its own source of the slice count and its own layout:
///
/// - **Siemens** (ImageType MOSAIC): the count is the CSA header's NumberOfImagesInMosaic (or
///   (0019,xx0A) of "SIEMENS MR HEADER"); the tiles fill a square `⌈√N⌉ × ⌈√N⌉` grid; Image Position
///   (Patient) is the corner of the whole mosaic as if it were one image, so the first true slice's
///   corner lies half the difference between mosaic and tile sizes further along row and column (as
///   nibabel and dcm2niix correct it); slices follow the CSA SliceNormalVector.
/// - **United Imaging** (Manufacturer UIH, "grid" images): the count is (0065,xx50) of creator "Image
///   Private Header" (dcm2niix's `kNumberOfImagesInGridUIH`, (0065,1050)); the tiles fill `⌈√N⌉`
///   columns and `⌈N / ⌈√N⌉⌉` rows; Image Position (Patient) is already the first slice's corner (dcm2niix
///   applies no correction); slices follow the image's normal, row × column.
///
/// Slice *s* sits in tile (s / across, s % across) and lies `s × spacing` from the first along the normal.
struct MosaicLayout {
    enum Vendor: Sendable {
        case siemens, unitedImaging
    }

    var vendor: Vendor
    var sliceCount: Int
    /// Tiles per row of tiles, and rows of tiles.
    var tilesAcross: Int
    var tilesDown: Int
    var tileRows: Int
    var tileColumns: Int
    /// The slice normal the vendor gives (Siemens); nil means the image's own normal.
    var sliceNormal: SIMD3<Double>?

    /// The layout of a mosaic image, or nil when the image is not a mosaic.
    init?(_ dataSet: DICOMDataSet, format: StoredPixelFormat, path: String) throws {
        if Self.isUnitedImaging(dataSet), let count = Self.unitedImagingSliceCount(dataSet), count > 1 {
            let across = Int(Double(count).squareRoot().rounded(.up))
            try self.init(vendor: .unitedImaging, sliceCount: count, across: across, down: (count + across - 1) / across,
                          format: format, path: path)
            return
        }
        guard dataSet.strings(.imageType).contains(where: { $0.uppercased() == "MOSAIC" }) else { return nil }
        let csa = dataSet.privateElement(group: 0x0029, element: 0x10, creator: "SIEMENS CSA HEADER")?.rawBytes
            .flatMap(SiemensCSAHeader.init)
        var count = csa?.numbers("NumberOfImagesInMosaic").first.flatMap(FrameExtraction.wholeNumber)
        if count == nil, let element = dataSet.privateElement(group: 0x0019, element: 0x0A, creator: "SIEMENS MR HEADER") {
            // UN: the two bytes of a little-endian US; other VRs read as a (little-endian) one-element data set.
            count = element.vr == .UN
                ? element.rawBytes.flatMap { $0.count >= 2 ? Int(UInt16($0[$0.startIndex]) | UInt16($0[$0.startIndex + 1]) << 8) : nil }
                : DICOMDataSet(elements: [element]).int(element.tag)
        }
        guard let count, count > 0 else {
            throw MedVolError.unsupported(path, "mosaic image without a slice count (NumberOfImagesInMosaic in its Siemens headers, or (0065,xx50) of a United Imaging grid)")
        }
        let grid = Int(Double(count).squareRoot().rounded(.up))
        try self.init(vendor: .siemens, sliceCount: count, across: grid, down: grid, format: format, path: path)
        let normal = csa?.numbers("SliceNormalVector") ?? []
        sliceNormal = normal.count == 3 ? SIMD3(normal[0], normal[1], normal[2]) : nil
        if let n = sliceNormal, length(n) > 1e-6 { sliceNormal = n / length(n) } else { sliceNormal = nil }
    }

    /// A layout of `sliceCount` tiles in `across × down`, checked against the image's size.
    init(vendor: Vendor, sliceCount: Int, across: Int, down: Int, format: StoredPixelFormat, path: String) throws {
        // At least one pixel per tile, and no more slices than a mosaic has ever held by far.
        guard sliceCount > 0, sliceCount <= min(format.rows * format.columns, 65536), across * down >= sliceCount else {
            throw MedVolError.corrupt(path, "mosaic claims \(sliceCount) slices in a \(format.columns)×\(format.rows) image")
        }
        guard format.rows % down == 0, format.columns % across == 0 else {
            throw MedVolError.corrupt(path, "mosaic of \(sliceCount) slices in \(across)×\(down) tiles does not tile a \(format.columns)×\(format.rows) image")
        }
        self.vendor = vendor
        self.sliceCount = sliceCount
        tilesAcross = across
        tilesDown = down
        tileRows = format.rows / down
        tileColumns = format.columns / across
        sliceNormal = nil
    }

    /// Manufacturer "UIH" or "United Imaging…" (dcm2niix takes any manufacturer starting "UI").
    static func isUnitedImaging(_ dataSet: DICOMDataSet) -> Bool {
        guard let manufacturer = dataSet.string(.manufacturer)?.uppercased() else { return false }
        return manufacturer.hasPrefix("UIH") || manufacturer.hasPrefix("UNITED IMAGING")
    }

    /// (0065,xx50) of "Image Private Header" as a whole number (a DS; read with that VR when sent as UN).
    static func unitedImagingSliceCount(_ dataSet: DICOMDataSet) -> Int? {
        guard let element = dataSet.privateElement(group: 0x0065, element: 0x50, creator: "Image Private Header") else { return nil }
        return dataSet.double(element.tag).flatMap(FrameExtraction.wholeNumber)
    }

    /// Whether Image Position (Patient) is the corner of the whole mosaic (Siemens) rather than the
    /// first slice's (United Imaging).
    var positionIsMosaicCorner: Bool { vendor == .siemens }

    /// One frame per slice of the mosaic, positioned as the true slices.
    func frames(from mosaic: DICOMFrame) -> [DICOMFrame] {
        let step = mosaic.spacingBetweenSlices ?? mosaic.sliceThickness ?? 1
        var corner = mosaic.position
        if positionIsMosaicCorner, let position = mosaic.position, let row = mosaic.rowDirection, let column = mosaic.columnDirection {
            corner = position
                + row * (Double(mosaic.format.columns - tileColumns) / 2 * mosaic.spacingX)
                + column * (Double(mosaic.format.rows - tileRows) / 2 * mosaic.spacingY)
        }
        let normal = sliceNormal ?? mosaic.normal
        return (0..<sliceCount).map { index in
            var frame = mosaic
            frame.tile = MosaicTile(index: index, rows: tileRows, columns: tileColumns,
                                    firstRow: (index / tilesAcross) * tileRows, firstColumn: (index % tilesAcross) * tileColumns)
            frame.sopInstanceUID = mosaic.sopInstanceUID.map { "\($0)#slice\(index + 1)" }
            if let corner, let normal { frame.position = corner + normal * (Double(index) * step) }
            return frame
        }
    }
}
