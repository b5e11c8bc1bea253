import MedVol
for path in CommandLine.arguments.dropFirst() {
    do {
        let f = try DICOMFile.read(path: path, extent: .headerOnly)
        print(path, f.transferSyntax, f.dataSet.elements.count, f.dataSet.string(.seriesInstanceUID) ?? "-", f.dataSet.doubles(.imagePositionPatient), f.dataSet[.pixelData]?.value as Any)
    } catch { print("error:", error) }
}
