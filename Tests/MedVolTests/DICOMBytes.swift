@testable import MedVol

/// Builds DICOM byte streams by hand for parser tests: every element spelled out, so that tests can
/// make files no writer would (wrong lengths, truncations, odd encodings).
struct DICOMBytes {
    var bytes: [UInt8] = []
    var littleEndian = true
    var explicitVR = true

    static func part10(transferSyntax: String, body: (inout DICOMBytes) -> Void) -> [UInt8] {
        var meta = DICOMBytes()
        meta.element(0x0002, 0x0001, "OB", [0, 1])
        meta.text(0x0002, 0x0010, "UI", transferSyntax, pad: 0)
        var file = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        var group = DICOMBytes()
        group.element(0x0002, 0x0000, "UL", le32(UInt32(meta.bytes.count)))
        file += group.bytes + meta.bytes
        var data = DICOMBytes()
        data.littleEndian = transferSyntax != "1.2.840.10008.1.2.2"
        data.explicitVR = transferSyntax != "1.2.840.10008.1.2"
        body(&data)
        return file + data.bytes
    }

    mutating func tag(_ group: UInt16, _ element: UInt16) {
        append16(group)
        append16(element)
    }

    mutating func append16(_ value: UInt16) {
        bytes += littleEndian ? [UInt8(value & 0xFF), UInt8(value >> 8)] : [UInt8(value >> 8), UInt8(value & 0xFF)]
    }

    mutating func append32(_ value: UInt32) {
        let le = Self.le32(value)
        bytes += littleEndian ? le : le.reversed()
    }

    static func le32(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }

    /// An element with `value` bytes (already in the right byte order); `length` overrides the length.
    mutating func element(_ group: UInt16, _ element: UInt16, _ vr: String, _ value: [UInt8], length: UInt32? = nil) {
        tag(group, element)
        let count = length ?? UInt32(value.count)
        if explicitVR {
            bytes += Array(vr.utf8)
            if ["OB", "OW", "OF", "SQ", "UT", "UN", "OD", "OL", "UC", "UR", "OV", "SV", "UV"].contains(vr) {
                bytes += [0, 0]
                append32(count)
            } else {
                append16(UInt16(count))
            }
        } else {
            append32(count)
        }
        bytes += value
    }

    mutating func text(_ group: UInt16, _ element: UInt16, _ vr: String, _ value: String, pad: UInt8 = 0x20) {
        var data = Array(value.utf8)
        if data.count % 2 == 1 { data.append(pad) }
        self.element(group, element, vr, data)
    }

    mutating func us(_ group: UInt16, _ element: UInt16, _ values: UInt16...) {
        var data: [UInt8] = []
        for value in values { data += littleEndian ? [UInt8(value & 0xFF), UInt8(value >> 8)] : [UInt8(value >> 8), UInt8(value & 0xFF)] }
        self.element(group, element, "US", data)
    }

    /// A sequence of undefined length with items of undefined length.
    mutating func sequence(_ group: UInt16, _ element: UInt16, items: [(inout DICOMBytes) -> Void]) {
        tag(group, element)
        if explicitVR { bytes += Array("SQ".utf8) + [0, 0] }
        append32(0xFFFF_FFFF)
        for item in items {
            tag(0xFFFE, 0xE000)
            append32(0xFFFF_FFFF)
            var nested = DICOMBytes()
            nested.littleEndian = littleEndian
            nested.explicitVR = explicitVR
            item(&nested)
            bytes += nested.bytes
            tag(0xFFFE, 0xE00D)
            append32(0)
        }
        tag(0xFFFE, 0xE0DD)
        append32(0)
    }

    /// The attributes of a small monochrome image with native pixel data.
    mutating func image(rows: UInt16, columns: UInt16, bits: UInt16 = 16, signed: Bool = true, pixels: [UInt8]) {
        text(0x0008, 0x0018, "UI", "1.2.3.4.5", pad: 0)
        text(0x0008, 0x0060, "CS", "CT")
        text(0x0020, 0x000E, "UI", "1.2.3.4", pad: 0)
        text(0x0020, 0x0032, "DS", "0\\0\\0")
        text(0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0")
        us(0x0028, 0x0002, 1)
        text(0x0028, 0x0004, "CS", "MONOCHROME2")
        us(0x0028, 0x0010, rows)
        us(0x0028, 0x0011, columns)
        text(0x0028, 0x0030, "DS", "0.5\\0.25")
        us(0x0028, 0x0100, bits)
        us(0x0028, 0x0101, bits)
        us(0x0028, 0x0102, bits - 1)
        us(0x0028, 0x0103, signed ? 1 : 0)
        element(0x7FE0, 0x0010, bits > 8 ? "OW" : "OB", pixels)
    }
}
