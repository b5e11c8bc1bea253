// swift-tools-version:6.1
//
// medvol: assemble 3D/4D medical volumes from DICOM and MetaImage with exact geometry, and convert
// between DICOM, MetaImage, NumPy, NIfTI and NRRD. See docs/architecture.md for the map.
import PackageDescription

/// ITK 5.2, GDCM 3.0, CharLS and OpenJPEG libraries the C++ bridge calls (Debian: libinsighttoolkit5-dev,
/// libgdcm-dev, libcharls-dev, libopenjp2-7-dev).
/// Both live in default linker paths, so no `-L` (and no `unsafeFlags`) is needed.
let itkAndGDCMLibraries: [LinkerSetting] = [
    "ITKIOMeta-5.2", "ITKIONIFTI-5.2", "ITKIONRRD-5.2", "ITKIOJPEG-5.2", "ITKIOImageBase-5.2", "ITKCommon-5.2",
    "itksys-5.2", "itkvnl_algo-5.2", "itkvnl-5.2",
    "gdcmMSFF", "gdcmDSED", "gdcmDICT", "gdcmCommon",
    // CharLS 2.4 (JPEG-LS) and OpenJPEG 2.5 (JPEG 2000, HTJ2K), called directly (libcharls-dev, libopenjp2-7-dev).
    "charls", "openjp2",
    // SwiftPM adds -lstdc++ but not -lm; clients that do not import Foundation need it.
    "m",
].map { .linkedLibrary($0) }

let package = Package(
    name: "medvol",
    platforms: [.macOS(.v15)],
    products: [
        // MARK: Public products
        /// The library, with the C++ bridge over ITK and GDCM linked in: a package that depends on this
        /// product alone reads and writes every format, with nothing to copy and no variable to set.
        .library(name: "MedVol", targets: ["MedVol", "_MedVolBridgeImplementation"]),
        .executable(name: "medvol", targets: ["medvol"]),
        /// The C++ bridge as a shared library, which the medvol tool loads the first time it needs ITK or
        /// GDCM (so that it starts in a few milliseconds): keep libMedVolBridge.so beside the executable
        /// (`swift build` puts it there). See Bridging/README.md.
        .library(name: "MedVolBridge", type: .dynamic, targets: ["_MedVolBridgeImplementation"]),
        /// The program the decoder pool runs its worker processes with (see Bridging/README.md); install
        /// it beside medvol and libMedVolBridge.so.
        .executable(name: "medvol-codec-worker", targets: ["medvol-codec-worker"]),
        // MARK: Development
        /// The libFuzzer targets (docs/fuzzing.md). `make fuzz` builds it with the fuzzer and address
        /// sanitizer flags on the command line; a plain build replays inputs (`medvol-fuzz TARGET FILE…`).
        .executable(name: "medvol-fuzz", targets: ["MedVolFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // FilePath, for the library's path parameters.
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // `swift package generate-documentation --target MedVol` builds the DocC catalog.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // MARK: Public modules

        /// The library: `Volume`, DICOM scanning and assembly, readers and writers for every format.
        .target(
            name: "MedVol",
            dependencies: [
                "_MedVolBridge", "_CZlib", "_CLibDeflate", "_CSQLite",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Sources/MedVol"
        ),

        /// The command-line tool.
        .executableTarget(
            name: "medvol",
            dependencies: [
                "MedVol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/medvol"
        ),

        /// The decoder worker program: the loader alone, whose constructor serves the pool's requests.
        .executableTarget(
            name: "medvol-codec-worker",
            dependencies: ["_MedVolBridge"],
            path: "Sources/medvol-codec-worker"
        ),

        /// The fuzz targets' driver: `LLVMFuzzerTestOneInput` over ``FuzzTarget`` (see docs/fuzzing.md).
        .executableTarget(
            name: "MedVolFuzz",
            dependencies: ["MedVol"],
            path: "Sources/MedVolFuzz"
        ),

        // MARK: Implementation details

        /// What Swift imports of the bridge: the plain C API (`include/medvol_bridge.h`) and a loader that
        /// loads the C++ implementation on first use and forwards each call to it.
        .target(
            name: "_MedVolBridge",
            path: "Bridging/Loader",
            publicHeadersPath: "include",
            linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]
        ),

        /// The thin C++ shim over ITK, GDCM, CharLS and OpenJPEG (built as libMedVolBridge.so). Their headers are
        /// included by its `.cpp` files alone; `system/` holds symbolic links to the system include
        /// folders so that no `unsafeFlags` are needed; `shared/` links to the C API it implements.
        .target(
            name: "_MedVolBridgeImplementation",
            path: "Bridging/Implementation",
            exclude: ["system"],
            publicHeadersPath: "shared",
            cxxSettings: [
                .headerSearchPath("system/ITK-5.2"),
                .headerSearchPath("system/gdcm-3.0"),
                // SwiftPM's release builds use -O2 but do not define NDEBUG.
                .define("NDEBUG", .when(configuration: .release)),
            ],
            linkerSettings: itkAndGDCMLibraries
        ),

        /// zlib (system library) for deflate: .npz, deflated DICOM, PNG.
        .systemLibrary(name: "_CZlib", path: "Sources/_CZlib"),

        /// libdeflate (Debian libdeflate-dev): whole-buffer deflate, faster than zlib at a smaller size,
        /// for the blocks that gzip outputs are compressed and inflated in, on every core.
        .systemLibrary(name: "_CLibDeflate", path: "Sources/_CLibDeflate"),

        /// SQLite (Debian libsqlite3-dev): the archive index (`medvol index`), a database any SQLite client reads.
        .systemLibrary(name: "_CSQLite", path: "Sources/_CSQLite"),

        // MARK: Tests

        .testTarget(
            name: "MedVolTests",
            dependencies: ["MedVol", .product(name: "SystemPackage", package: "swift-system")],
            path: "Tests/MedVolTests"
        ),
    ],
    cxxLanguageStandard: .cxx17
)
