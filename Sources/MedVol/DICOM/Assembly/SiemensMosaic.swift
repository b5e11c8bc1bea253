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

/// How a Siemens mosaic frame (ImageType MOSAIC) tiles its slices, and the true slices' geometry.
///
/// Slice *s* sits in tile (s / grid, s % grid) of a `grid × grid` layout, `grid = ⌈√N⌉`. The mosaic's
/// Image Position (Patient) is the corner of the whole mosaic as if it were one image; the first true
/// slice's corner is shifted by half the difference between mosaic and tile sizes along row and column
/// (as nibabel and dcm2niix correct it), and slice *s* lies `s × spacing` further along the CSA
/// SliceNormalVector.
struct MosaicLayout {
    var sliceCount: Int
    var grid: Int
    var tileRows: Int
    var tileColumns: Int
    var sliceNormal: SIMD3<Double>?

    /// The layout of a mosaic image, or nil when the image is not a mosaic.
    init?(_ dataSet: DICOMDataSet, format: StoredPixelFormat, path: String) throws {
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
            throw MedVolError.unsupported(path, "mosaic image without NumberOfImagesInMosaic in its Siemens headers")
        }
        // At least one pixel per tile, and no more slices than a mosaic has ever held by far.
        guard count <= min(format.rows * format.columns, 65536) else {
            throw MedVolError.corrupt(path, "mosaic claims \(count) slices in a \(format.columns)×\(format.rows) image")
        }
        let grid = Int(Double(count).squareRoot().rounded(.up))
        guard format.rows % grid == 0, format.columns % grid == 0 else {
            throw MedVolError.corrupt(path, "mosaic of \(count) slices does not tile a \(format.columns)×\(format.rows) image")
        }
        sliceCount = count
        self.grid = grid
        tileRows = format.rows / grid
        tileColumns = format.columns / grid
        let normal = csa?.numbers("SliceNormalVector") ?? []
        sliceNormal = normal.count == 3 ? SIMD3(normal[0], normal[1], normal[2]) : nil
        if let n = sliceNormal, length(n) > 1e-6 { sliceNormal = n / length(n) } else { sliceNormal = nil }
    }

    /// One frame per slice of the mosaic, positioned as the true slices.
    func frames(from mosaic: DICOMFrame) -> [DICOMFrame] {
        let step = mosaic.spacingBetweenSlices ?? mosaic.sliceThickness ?? 1
        var corner: SIMD3<Double>?
        if let position = mosaic.position, let row = mosaic.rowDirection, let column = mosaic.columnDirection {
            corner = position
                + row * (Double(mosaic.format.columns - tileColumns) / 2 * mosaic.spacingX)
                + column * (Double(mosaic.format.rows - tileRows) / 2 * mosaic.spacingY)
        }
        let normal = sliceNormal ?? mosaic.normal
        return (0..<sliceCount).map { index in
            var frame = mosaic
            frame.tile = MosaicTile(index: index, rows: tileRows, columns: tileColumns,
                                    firstRow: (index / grid) * tileRows, firstColumn: (index % grid) * tileColumns)
            frame.sopInstanceUID = mosaic.sopInstanceUID.map { "\($0)#slice\(index + 1)" }
            if let corner, let normal { frame.position = corner + normal * (Double(index) * step) }
            return frame
        }
    }
}
