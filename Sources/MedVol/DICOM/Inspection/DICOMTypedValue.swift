/// An element's value decoded according to its VR: what `medvol dump` prints and what the DICOM JSON
/// model (PS3.18 Annex F) is made of.
public enum DICOMTypedValue: Sendable {
    /// A zero-length value.
    case empty
    /// Character strings (AE, AS, CS, DA, DT, LO, LT, SH, ST, TM, UC, UI, UR, UT), split at backslashes
    /// (except LT, ST, UT, UR) with padding removed; also IS and DS values that are not all numbers.
    case strings([String])
    /// Person names (PN).
    case personNames([DICOMPersonName])
    /// Integers: IS, US, SS, UL, SL, SV.
    case integers([Int64])
    /// Unsigned 64-bit integers (UV).
    case unsignedIntegers([UInt64])
    /// Decimals: DS, FL, FD.
    case decimals([Double])
    /// Attribute tags (AT).
    case tags([DICOMTag])
    /// Binary data: OB, OD, OF, OL, OV, OW, UN.
    case bytes(ArraySlice<UInt8>)
    /// The items of a sequence.
    case sequence([DICOMDataSet])
    /// A value left in the file and not read: native pixel data (`length` bytes at `offset`), a value
    /// larger than the reader keeps in memory, or encapsulated pixel data (`length` nil).
    case leftInFile(offset: Int, length: Int?)

    /// Number of values (VM); for a sequence, its number of items; for bytes and values left in the
    /// file: 1 (bytes: 0 when empty).
    public var multiplicity: Int {
        switch self {
        case .empty: 0
        case .strings(let values): values.count
        case .personNames(let values): values.count
        case .integers(let values): values.count
        case .unsignedIntegers(let values): values.count
        case .decimals(let values): values.count
        case .tags(let values): values.count
        case .bytes(let bytes): bytes.isEmpty ? 0 : 1
        case .sequence(let items): items.count
        case .leftInFile: 1
        }
    }
}

extension DICOMDataSet {
    /// The value of `element` decoded by its (effective) VR.
    public func typedValue(of element: DICOMElement) -> DICOMTypedValue {
        typedValue(of: element, vr: effectiveVR(of: element))
    }

    /// The value of `element` decoded by `vr` (its ``effectiveVR(of:)``, computed by the caller).
    func typedValue(of element: DICOMElement, vr: DICOMVR) -> DICOMTypedValue {
        switch element.value {
        case .sequence(let items): return .sequence(items)
        case .encapsulatedPixelData(let offset): return .leftInFile(offset: offset, length: nil)
        case .deferred(let offset, let length): return .leftInFile(offset: offset, length: length)
        case .bytes(let bytes): return typedValue(bytes: bytes, vr: vr)
        }
    }

    /// The value of the element `tag`, decoded by its VR (nil when absent).
    public func typedValue(_ tag: DICOMTag) -> DICOMTypedValue? {
        self[tag].map(typedValue(of:))
    }

    func typedValue(bytes: ArraySlice<UInt8>, vr: DICOMVR) -> DICOMTypedValue {
        if bytes.isEmpty { return .empty }
        switch vr {
        case .PN:
            let values = textValues(bytes, vr: vr)
            return values.allSatisfy(\.isEmpty) ? .empty : .personNames(values.map(DICOMPersonName.init))
        case .IS:
            let values = textValues(bytes, vr: vr)
            if values.allSatisfy(\.isEmpty) { return .empty }
            let numbers = values.compactMap { Int64($0) }
            return numbers.count == values.count ? .integers(numbers) : .strings(values)
        case .DS:
            let values = textValues(bytes, vr: vr)
            if values.allSatisfy(\.isEmpty) { return .empty }
            let numbers = values.compactMap { Double($0) }.filter(\.isFinite)
            return numbers.count == values.count ? .decimals(numbers) : .strings(values)
        case .US: return .integers(integers(bytes, UInt16.self).map { Int64($0) })
        case .SS: return .integers(integers(bytes, Int16.self).map { Int64($0) })
        case .UL: return .integers(integers(bytes, UInt32.self).map { Int64($0) })
        case .SL: return .integers(integers(bytes, Int32.self).map { Int64($0) })
        case .SV: return .integers(integers(bytes, Int64.self))
        case .UV: return .unsignedIntegers(integers(bytes, UInt64.self))
        case .FL: return .decimals(integers(bytes, UInt32.self).map { Double(Float(bitPattern: $0)) })
        case .FD: return .decimals(integers(bytes, UInt64.self).map { Double(bitPattern: $0) })
        case .AT: return .tags(tags(in: bytes))
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN, .SQ:
            return .bytes(bytes)
        case .AE, .AS, .CS, .DA, .DT, .LO, .LT, .SH, .ST, .TM, .UC, .UI, .UR, .UT:
            let values = textValues(bytes, vr: vr)
            return values.allSatisfy(\.isEmpty) ? .empty : .strings(values)
        }
    }
}
