import Foundation
@testable import MedVol
import Testing

/// Volumes and geometry the format tests share.
enum FormatFixtures {
    /// A rotation by `angle` about an oblique axis: a direction with no zero entries.
    static func rotation(axis: SIMD3<Double> = SIMD3(1, 2, 3), angle: Double = 0.7) -> DirectionMatrix {
        MedVolTests.rotation(axis: axis, angle: angle)
    }

    static let obliqueGeometry3D = ImageGeometry(
        size: [7, 5, 4], spacing: SIMD3(0.8, 0.65, 2.5), origin: SIMD3(-123.456789, 98.7654321, -250.125),
        direction: rotation())

    static let obliqueGeometry4D = ImageGeometry(
        size: [6, 5, 3, 4], spacing: SIMD3(1.5, 1.25, 3.3), origin: SIMD3(12.5, -40.25, 77.125),
        direction: rotation(axis: SIMD3(-2, 1, 0.5), angle: 2.2), timeSpacing: 2.5)

    /// A volume whose voxel values differ, reach negative values for signed types and the type's upper
    /// range, and are not symmetric along any axis (so flips and transposes show).
    static func volume(_ type: PixelType, geometry: ImageGeometry = obliqueGeometry3D, components: Int = 1) -> Volume {
        var volume = Volume(pixelType: type, components: components, geometry: geometry)
        let count = geometry.voxelCount * components
        volume.withUnsafeMutableBytes { raw in
            for index in 0..<count {
                let pattern = Double((index * 37) % 251) - (type.isSigned ? 125 : 0)
                switch type {
                case .uint8: raw.storeBytes(of: UInt8(pattern), toByteOffset: index, as: UInt8.self)
                case .int8: raw.storeBytes(of: Int8(pattern), toByteOffset: index, as: Int8.self)
                case .uint16: raw.storeBytes(of: UInt16(pattern * 257), toByteOffset: index * 2, as: UInt16.self)
                case .int16: raw.storeBytes(of: Int16(pattern * 257), toByteOffset: index * 2, as: Int16.self)
                case .uint32: raw.storeBytes(of: UInt32(pattern * 16_777_259), toByteOffset: index * 4, as: UInt32.self)
                case .int32: raw.storeBytes(of: Int32(pattern * 16_777_259), toByteOffset: index * 4, as: Int32.self)
                case .uint64: raw.storeBytes(of: UInt64(pattern) << 40 + 7, toByteOffset: index * 8, as: UInt64.self)
                case .int64: raw.storeBytes(of: Int64(pattern) << 40 - 7, toByteOffset: index * 8, as: Int64.self)
                case .float32: raw.storeBytes(of: Float(pattern) * 0.37 + 1e-3, toByteOffset: index * 4, as: Float.self)
                case .float64: raw.storeBytes(of: pattern * 0.123456789 - 1e-9, toByteOffset: index * 8, as: Double.self)
                }
            }
        }
        volume.metadata.modality = "CT"
        return volume
    }

    static func bytes(of volume: Volume) -> [UInt8] { volume.withUnsafeBytes { Array($0) } }
}

/// Expects the same type, components, size, voxel bytes, and geometry within the SPEC's tolerances.
func expectSameVolume(_ read: Volume, _ written: Volume, coordinateTolerance: Double = 1e-4,
                      directionTolerance: Double = 1e-6, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(read.pixelType == written.pixelType, sourceLocation: sourceLocation)
    #expect(read.components == written.components, sourceLocation: sourceLocation)
    #expect(read.size == written.size, sourceLocation: sourceLocation)
    #expect(FormatFixtures.bytes(of: read) == FormatFixtures.bytes(of: written), "voxel bytes differ", sourceLocation: sourceLocation)
    #expect(read.geometry.isCongruent(with: written.geometry, coordinateTolerance: coordinateTolerance,
                                      directionTolerance: directionTolerance),
            "geometry \(read.geometry) differs from \(written.geometry)", sourceLocation: sourceLocation)
}

/// The error a throwing call throws, as a MedVolError (a test failure if it throws something else or nothing).
func medVolError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> MedVolError? {
    do {
        try body()
        Issue.record("expected an error", sourceLocation: sourceLocation)
        return nil
    } catch let error as MedVolError {
        return error
    } catch {
        Issue.record("expected a MedVolError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
