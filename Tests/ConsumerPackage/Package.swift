// swift-tools-version:6.1
//
// A package as a MedVol user writes it: it depends on the `MedVol` product alone (no bridge product, no
// environment variable, nothing copied by hand). Tests/conformance/test_consumer_package.py builds it and
// checks what it writes against SimpleITK.
import PackageDescription

let package = Package(
    name: "ct2nii",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "medvol", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "ct2nii",
            dependencies: [.product(name: "MedVol", package: "medvol")]
        ),
    ]
)
