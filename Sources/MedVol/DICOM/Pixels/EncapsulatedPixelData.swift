/// The fragments of encapsulated pixel data (PS3.5 A.4) and which of them make up each frame.
enum EncapsulatedPixelData {
    /// The value byte ranges (in the source) of the items of encapsulated pixel data starting at `start`
    /// (the basic offset table item first, then the fragments), and the offset just after the sequence
    /// delimiter. Only the 8-byte item headers are read.
    static func items(source: some PixelByteReader, start: Int) throws -> (items: [Range<Int>], end: Int) {
        var items: [Range<Int>] = []
        var offset = start
        while true {
            let header = try source.read(count: 8, at: offset)
            let group = UInt16(header[0]) | UInt16(header[1]) << 8
            let element = UInt16(header[2]) | UInt16(header[3]) << 8
            let length = Int(UInt32(header[4]) | UInt32(header[5]) << 8 | UInt32(header[6]) << 16 | UInt32(header[7]) << 24)
            let tag = DICOMTag(group, element)
            if tag == .sequenceDelimitationItem { return (items, offset + 8) }
            guard tag == .item, offset + 8 <= source.size - length else {
                throw MedVolError.corrupt(source.path, "encapsulated pixel data hold a damaged item at byte \(offset)")
            }
            items.append(offset + 8..<offset + 8 + length)
            offset += 8 + length
        }
    }

    /// Byte ranges (in the source) of the fragments of every frame, in frame order.
    static func frameFragments(source: some PixelByteReader, start: Int, frameCount: Int) throws -> [[Range<Int>]] {
        let path = source.path
        let items = try Self.items(source: source, start: start).items
        guard let offsetTable = items.first else {
            throw MedVolError.corrupt(path, "encapsulated pixel data have no basic offset table item")
        }
        let fragments = Array(items.dropFirst()).filter { !$0.isEmpty }
        guard !fragments.isEmpty else { throw MedVolError.corrupt(path, "encapsulated pixel data hold no fragment") }

        if frameCount == 1 { return [fragments] }
        if fragments.count == frameCount { return fragments.map { [$0] } }

        // Which fragments start a codestream (JPEG family); none do for RLE.
        let startsFrame = try fragments.map { try startsCodestream(source.read(count: min(12, $0.count), at: $0.lowerBound)) }
        let hasMarkers = startsFrame.contains(true)

        // The Basic Offset Table: byte offsets of each frame's first fragment item, counted from the
        // first fragment item. Used only when it is consistent: sorted, starting at 0, every offset at a
        // fragment item, and (for codestreams) every frame starting with a codestream and holding one.
        if offsetTable.count >= 4 * frameCount {
            let table = try source.read(count: 4 * frameCount, at: offsetTable.lowerBound)
            let starts: [Int] = (0..<frameCount).map { index in
                let at = index * 4
                return Int(UInt32(table[at]) | UInt32(table[at + 1]) << 8 | UInt32(table[at + 2]) << 16 | UInt32(table[at + 3]) << 24)
            }
            let firstItem = fragments[0].lowerBound - 8
            let itemOffsets = Dictionary(uniqueKeysWithValues: fragments.enumerated().map { ($1.lowerBound - 8 - firstItem, $0) })
            let firstFragments = starts.compactMap { itemOffsets[$0] }
            if starts.first == 0, zip(starts, starts.dropFirst()).allSatisfy({ $0 < $1 }), firstFragments.count == frameCount {
                let groups: [[Int]] = (0..<frameCount).map { index in
                    Array(firstFragments[index]..<(index + 1 < frameCount ? firstFragments[index + 1] : fragments.count))
                }
                let consistent = !hasMarkers || groups.allSatisfy { group in
                    startsFrame[group[0]] && group.dropFirst().allSatisfy { !startsFrame[$0] }
                }
                if consistent { return groups.map { $0.map { fragments[$0] } } }
            }
        }

        // No usable offset table: a frame starts with each fragment that starts a codestream.
        guard hasMarkers else {
            throw MedVolError.corrupt(path, "encapsulated pixel data hold \(fragments.count) fragments for \(frameCount) frames and no usable offset table")
        }
        var frames: [[Range<Int>]] = []
        for (index, fragment) in fragments.enumerated() {
            if startsFrame[index] || frames.isEmpty {
                frames.append([fragment])
            } else {
                frames[frames.count - 1].append(fragment)
            }
        }
        guard frames.count == frameCount else {
            throw MedVolError.corrupt(path, "encapsulated pixel data hold \(frames.count) frames, Number of Frames says \(frameCount)")
        }
        return frames
    }

    /// JPEG SOI, JPEG 2000 SOC+SIZ, or the JP2 signature box.
    private static func startsCodestream(_ head: [UInt8]) -> Bool {
        if head.count >= 2 && head[0] == 0xFF && head[1] == 0xD8 { return true }
        if head.count >= 4 && head[0] == 0xFF && head[1] == 0x4F && head[2] == 0xFF && head[3] == 0x51 { return true }
        if head.count >= 8 && head[4] == 0x6A && head[5] == 0x50 && head[6] == 0x20 && head[7] == 0x20 { return true }
        return false
    }

    /// The bytes of one frame's fragments, concatenated.
    static func frameBytes(source: PixelByteSource, fragments: [Range<Int>]) throws -> [UInt8] {
        if fragments.count == 1 { return try source.read(count: fragments[0].count, at: fragments[0].lowerBound) }
        let total = fragments.reduce(0) { $0 + $1.count }
        // Each fragment read straight into its place (checked as `PixelByteSource.read(count:at:)` does).
        return try [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            var at = 0
            for fragment in fragments {
                guard fragment.lowerBound >= 0, fragment.lowerBound <= source.size - fragment.count else {
                    throw MedVolError.corrupt(source.path, "pixel data run past the end of the file")
                }
                try source.read(into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[at..<at + fragment.count])),
                                at: fragment.lowerBound)
                at += fragment.count
            }
            initialized = total
        }
    }
}
