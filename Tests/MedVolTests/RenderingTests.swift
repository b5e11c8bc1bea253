import Foundation
@testable import MedVol
import Testing

@Suite("Rendering: VOI LUT, layouts, resampling, PNG, font")
struct RenderingTests {
    // MARK: VOI

    @Test("LINEAR window: PS3.3 C.11.2.1.2.1 with c − 0.5 and w − 1")
    func linearWindow() {
        let window = VOITransform.window(center: 40, width: 400, function: .linear)
        #expect(window.grey(40) == 128)                 // ((0.5 / 399) + 0.5) · 255 = 127.8
        #expect(window.grey(-160) == 0 && window.grey(-1000) == 0)
        #expect(window.grey(-159) == 1)
        #expect(window.grey(239) == 255 && window.grey(240) == 255)
        #expect(window.grey(238) == 254)
        #expect(window.grey(.nan) == 0)
        let threshold = VOITransform.window(center: 100, width: 1, function: .linear)
        #expect(threshold.grey(99.5) == 0 && threshold.grey(99.6) == 255)
    }

    @Test func linearExactAndSigmoid() {
        let exact = VOITransform.window(center: 0, width: 100, function: .linearExact)
        #expect(exact.grey(-50) == 0 && exact.grey(50) == 255 && exact.grey(0) == 128 && exact.grey(25) == 191)
        let sigmoid = VOITransform.window(center: 0, width: 100, function: .sigmoid)
        #expect(sigmoid.grey(0) == 128 && sigmoid.grey(-1000) == 0 && sigmoid.grey(1000) == 255)
        #expect(sigmoid.grey(25) == 186)                // 255 / (1 + e^(−4·25/100)) = 186.4
    }

    @Test func lookupTable() {
        let table = VOILookupTable(firstMapped: 10, bitsPerEntry: 8, entries: [0, 51, 102, 255])
        let transform = VOITransform.lookupTable(table)
        #expect(transform.grey(0) == 0 && transform.grey(11) == 51 && transform.grey(12.7) == 102 && transform.grey(99) == 255)
        #expect(transform.summary == "VOI LUT (4 entries, 8 bits)")
    }

    @Test func valueRange() {
        let transform = VOITransform.range(-1024...3071)
        #expect(transform.grey(-1024) == 0 && transform.grey(3071) == 255)
        #expect(VOITransform.range(5...5).grey(5) == 0)
    }

    @Test func mappingsForVolumes() throws {
        var metadata = VolumeMetadata()
        metadata.photometricInterpretation = .monochrome1
        metadata.windows = [DisplayWindow(center: 40, width: 400), DisplayWindow(center: -600, width: 1500, explanation: "LUNG")]
        let volume = Volume(voxels: [Int16](repeating: 0, count: 8), geometry: ImageGeometry(size: [2, 2, 2]), metadata: metadata)
        let first = try DisplayMapping.make(for: volume, choice: .fromFile(index: nil))
        #expect(first.inverted && first.transform == .window(center: 40, width: 400, function: .linear))
        let second = try DisplayMapping.make(for: volume, choice: .fromFile(index: 2))
        #expect(second.summary == "window -600/1500 (LUNG) from the file")
        #expect(throws: MedVolError.self) { try DisplayMapping.make(for: volume, choice: .fromFile(index: 3)) }
        #expect(throws: MedVolError.self) { try DisplayMapping.make(for: volume, choice: .explicit(center: 0, width: 0.5)) }
        #expect(WindowPreset.named("LUNG")?.center == -600 && WindowPreset.all.count == 8)
        let rgb = Volume(voxels: [UInt8](repeating: 9, count: 24), components: 3, geometry: ImageGeometry(size: [2, 2, 2]))
        let colour = try DisplayMapping.make(for: rgb, choice: .fromFile(index: nil))
        #expect(colour.transform == nil && colour.pixel(9, colour: true) == 9)
    }

    // MARK: Layouts and resampling

    @Test("identity (LPS): axial is stored; coronal and sagittal flip the slice axis to put superior at the top")
    func layoutsOfAnAxialVolume() {
        let geometry = ImageGeometry(size: [4, 5, 6])
        let axial = PlaneLayout(plane: .axial, geometry: geometry)
        #expect(axial.isStored && axial.across.axis == 0 && axial.down.axis == 1)
        let coronal = PlaneLayout(plane: .coronal, geometry: geometry)
        #expect(coronal.across == .init(axis: 0, reversed: false) && coronal.down == .init(axis: 2, reversed: true))
        #expect(coronal.through == .init(axis: 1, reversed: false))
        let sagittal = PlaneLayout(plane: .sagittal, geometry: geometry)
        #expect(sagittal.across == .init(axis: 1, reversed: false) && sagittal.down == .init(axis: 2, reversed: true))
        #expect(axial.edgeLabels(geometry) == ("R", "L", "A", "P"))
        #expect(coronal.edgeLabels(geometry) == ("R", "L", "S", "I"))
        #expect(sagittal.edgeLabels(geometry) == ("A", "P", "S", "I"))
    }

    @Test("a slightly oblique axial volume is still shown as stored; a sagittal one is reformatted")
    func obliqueAndSagittal() {
        let angle = 10.0 * Double.pi / 180
        let tilted = DirectionMatrix(columns: SIMD3(1, 0, 0), SIMD3(0, cos(angle), -sin(angle)), SIMD3(0, sin(angle), cos(angle)))
        #expect(PlaneLayout(plane: .axial, geometry: ImageGeometry(size: [2, 2, 2], direction: tilted)).isStored)
        let sagittal = DirectionMatrix(columns: SIMD3(0, 1, 0), SIMD3(0, 0, -1), SIMD3(-1, 0, 0))
        let geometry = ImageGeometry(size: [3, 4, 5], direction: sagittal)
        #expect(PlaneLayout.stored(geometry).plane == .sagittal)
        let axial = PlaneLayout(plane: .axial, geometry: geometry)
        #expect(!axial.isStored && axial.across == .init(axis: 2, reversed: true) && axial.down == .init(axis: 0, reversed: false))
        #expect(axial.through == .init(axis: 1, reversed: true))
        #expect(axial.edgeLabels(geometry) == ("R", "L", "A", "P"))
    }

    @Test("0.5 × 0.5 × 2 mm: coronal pictures have 4 rows per slice, interpolated linearly")
    func aspectResampling() {
        let values: [Int16] = [Int16](repeating: 0, count: 12) + [Int16](repeating: 100, count: 12)   // slices 0 and 1
        let volume = Volume(voxels: values, geometry: ImageGeometry(size: [4, 3, 2], spacing: SIMD3(0.5, 0.5, 2)))
        let mapping = DisplayMapping(transform: .window(center: 128, width: 256, function: .linear), summary: "")
        let renderer = SliceRenderer(volume: volume, layout: PlaneLayout(plane: .coronal, geometry: volume.geometry), mapping: mapping)
        #expect(renderer.width == 4 && renderer.height == 8 && renderer.pixelSize == 0.5 && renderer.sliceCount == 3)
        let picture = renderer.render(slice: 0)
        // Rows from the top (superior, slice 1) down: t = (r + ½)·2/8 − ½ clamped, reversed.
        #expect((0..<8).map { picture[0, $0] } == [100, 100, 88, 63, 38, 13, 0, 0])
        let axial = SliceRenderer(volume: volume, layout: .stored(volume.geometry), mapping: mapping)
        #expect(axial.width == 4 && axial.height == 3 && axial.render(slice: 1).pixels.allSatisfy { $0 == 100 })
    }

    // MARK: PNG

    /// Decodes a PNG written by `PNGEncoder` (chunks, CRCs, zlib, the five filters) — an independent reading.
    private func decodePNG(_ bytes: [UInt8]) throws -> RasterImage {
        #expect(Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var offset = 8
        var width = 0, height = 0, channels = 0
        var idat: [UInt8] = []
        var types: [String] = []
        func be32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
        while offset < bytes.count {
            let length = be32(offset)
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            let body = Array(bytes[offset + 8..<offset + 8 + length])
            let crc = Array(bytes[offset + 4..<offset + 8 + length]).withUnsafeBytes { Zlib.crc32($0) }
            #expect(UInt32(be32(offset + 8 + length)) == crc, "CRC of \(type)")
            types.append(type)
            if type == "IHDR" {
                width = Int(body[0]) << 24 | Int(body[1]) << 16 | Int(body[2]) << 8 | Int(body[3])
                height = Int(body[4]) << 24 | Int(body[5]) << 16 | Int(body[6]) << 8 | Int(body[7])
                #expect(body[8] == 8)
                channels = body[9] == 2 ? 3 : 1
            }
            if type == "IDAT" { idat += body }
            offset += 12 + length
        }
        #expect(types.first == "IHDR" && types.last == "IEND")
        let raw = try idat.withUnsafeBytes { try Zlib.inflate($0, wrapper: .zlib) }
        let stride = width * channels
        var pixels = [UInt8](repeating: 0, count: stride * height)
        for row in 0..<height {
            let filter = raw[row * (stride + 1)]
            for index in 0..<stride {
                let x = raw[row * (stride + 1) + 1 + index]
                let a = index >= channels ? Int(pixels[row * stride + index - channels]) : 0
                let b = row > 0 ? Int(pixels[(row - 1) * stride + index]) : 0
                let c = row > 0 && index >= channels ? Int(pixels[(row - 1) * stride + index - channels]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                default:
                    let p = a + b - c
                    let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                }
                pixels[row * stride + index] = x &+ UInt8(predictor & 0xFF)
            }
        }
        return RasterImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    @Test("PNG round trip, grey and RGB, every filter in use")
    func pngRoundTrip() throws {
        var generator = SplitMix64(seed: 7)
        for channels in [1, 3] {
            let width = 37, height = 23
            // Smooth rows (Sub/Up/Paeth win), flat rows (None) and noise.
            let pixels: [UInt8] = (0..<width * height * channels).map { index in
                let row = index / (width * channels)
                switch row % 3 {
                case 0: return UInt8((index * 3) & 0xFF)
                case 1: return UInt8(row * 5)
                default: return UInt8(truncatingIfNeeded: generator.next())
                }
            }
            let image = RasterImage(width: width, height: height, channels: channels, pixels: pixels)
            let encoded = try PNGEncoder.encode(image, text: [("Software", "medvol")])
            #expect(try decodePNG(encoded) == image)
            let filters = Set(PNGEncoder.filterRows(image).enumerated().filter { $0.offset % (width * channels + 1) == 0 }.map(\.element))
            #expect(filters.count >= 3)
        }
    }

    @Test func imageSetWriterIsAtomicAndRefusesOverwriting() throws {
        let folder = TemporaryFolder()
        let image = RasterImage(width: 2, height: 2, fill: 7)
        let paths = [folder.file("out/a/1.png"), folder.file("out/b/2.png")]
        let writer = try RasterImageSetWriter(paths: paths, overwrite: false)
        try writer.write(image, to: paths[0], format: .png)
        try writer.write(image, to: paths[1], format: .jpeg)
        #expect(!FileSystem.exists(paths[0]))
        try writer.commit()
        #expect(FileSystem.exists(paths[0]) && FileSystem.exists(paths[1]))
        #expect(folder.contents(of: folder.file("out/a")) == ["1.png"])
        #expect(throws: MedVolError.self) { try RasterImageSetWriter(paths: [paths[0]], overwrite: false) }
        #expect(throws: MedVolError.self) { try RasterImageSetWriter(paths: [folder.file("x.png"), folder.file("x.png")], overwrite: false) }
        try image.write(to: paths[0], overwrite: true)
    }

    // MARK: Font

    @Test func fontGlyphs() {
        let printable = (0x21...0x7E).map { Unicode.Scalar($0)! }
        let glyphs = printable.map { Array(BitmapFont.columns($0)) }
        #expect(glyphs.allSatisfy { $0.count == 5 && $0.contains { $0 != 0 } && $0.allSatisfy { $0 < 0x80 } })
        #expect(Set(glyphs).count == glyphs.count, "every glyph is distinct")
        #expect(Array(BitmapFont.columns("é")) == Array(BitmapFont.columns("?")))
        #expect(BitmapFont.width(of: "abc") == 17 && BitmapFont.width(of: "abc", scale: 2) == 34)
        var image = RasterImage(width: 20, height: 9)
        image.drawText("I", x: 1, y: 1)
        #expect(image.pixels.filter { $0 == 255 }.count == 7 + 2 + 2)   // the stem and the serifs
        #expect(image[3, 1] == 255 && image[3, 7] == 255 && image[0, 0] == 0)
    }
}


@Suite("Rendering: awkward values")
struct RenderingAwkwardValueTests {
    @Test("NaN and infinite voxels render without trapping")
    func nonFiniteValues() throws {
        let values: [Float] = [.nan, .infinity, -.infinity, 1, 2, 3, 4, 5]
        let volume = Volume(voxels: values, geometry: ImageGeometry(size: [2, 2, 2]))
        let mapping = try DisplayMapping.make(for: volume, choice: .valueRange)
        let picture = SliceRenderer(volume: volume, layout: .stored(volume.geometry), mapping: mapping).render(slice: 0)
        #expect(picture.pixels.count == 4 && picture[0, 0] == 0)
        let window = try DisplayMapping.make(for: volume, choice: .explicit(center: 2, width: 4))
        let windowed = SliceRenderer(volume: volume, layout: .stored(volume.geometry), mapping: window).render(slice: 0)
        #expect(windowed.pixels == [0, 255, 0, 85])     // ((1 − 1.5) / 3 + ½) · 255 = 85
    }
}
