extension DICOMDataSet {
    /// The same data set with every value copied into one new buffer, so that it no longer keeps the
    /// parser's read windows (8 KiB and up) alive. A scan of 10,000 files keeps only their header bytes.
    func compacted() -> DICOMDataSet {
        var total = 0
        func measure(_ set: DICOMDataSet) {
            for element in set.elements {
                switch element.value {
                case .bytes(let bytes): total += bytes.count
                case .sequence(let items): items.forEach(measure)
                default: break
                }
            }
        }
        measure(self)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(total)
        var ranges: [Range<Int>] = []
        func copy(_ set: DICOMDataSet) {
            for element in set.elements {
                switch element.value {
                case .bytes(let bytes):
                    ranges.append(buffer.count..<buffer.count + bytes.count)
                    buffer.append(contentsOf: bytes)
                case .sequence(let items): items.forEach(copy)
                default: break
                }
            }
        }
        copy(self)
        var next = 0
        func rebuild(_ set: DICOMDataSet) -> DICOMDataSet {
            let elements = set.elements.map { element -> DICOMElement in
                switch element.value {
                case .bytes:
                    let range = ranges[next]
                    next += 1
                    return DICOMElement(tag: element.tag, vr: element.vr, value: .bytes(buffer[range]))
                case .sequence(let items):
                    return DICOMElement(tag: element.tag, vr: element.vr, value: .sequence(items.map(rebuild)))
                default:
                    return element
                }
            }
            return DICOMDataSet(elements: elements, isLittleEndian: set.isLittleEndian, characterSet: set.characterSet)
        }
        return rebuild(self)
    }
}

extension DICOMFile {
    /// The same file description with compacted data sets (see `DICOMDataSet.compacted()`).
    func compacted() -> DICOMFile {
        DICOMFile(path: path, fileMetaInformation: fileMetaInformation.compacted(), dataSet: dataSet.compacted(),
                  transferSyntax: transferSyntax, lacksPreamble: lacksPreamble, inflatedDataSet: inflatedDataSet, fileSize: fileSize)
    }
}
