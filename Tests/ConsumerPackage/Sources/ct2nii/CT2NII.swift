// ct2nii SERIES_FOLDER OUTPUT_STEM: from async code, scans a DICOM folder, loads its one stack (reading the
// progress sequence), and writes OUTPUT_STEM.nii.gz (streamed from the DICOM files) and OUTPUT_STEM.npy
// (from the loaded volume, with its .json geometry), printing the stages seen and the paths written.
#if canImport(Glibc)
import Glibc
#endif
import MedVol

@main
struct CT2NII {
    static func main() async {
        let arguments = CommandLine.arguments
        guard arguments.count == 3 else {
            print("usage: ct2nii SERIES_FOLDER OUTPUT_STEM")
            exit(2)
        }
        do {
            let scan = try await DICOMScan(paths: [arguments[1]])
            guard scan.stacks.count == 1 else {
                print("ct2nii: \(arguments[1]) holds \(scan.stacks.count) stacks")
                exit(1)
            }
            let stack = scan.stacks[0]
            let (control, reports) = WorkControl.reportingProgress(bufferingNewest: 1000)
            async let loaded = stack.load(options: DICOMLoadOptions(control: control))
            var stages: Set<String> = []
            for await report in reports { stages.insert(report.stage) }
            let volume = try await loaded
            print("stages: \(stages.sorted().joined(separator: ","))")
            let niftiResult = try await stack.write(to: arguments[2] + ".nii.gz")
            let numpyResult = try await volume.write(to: arguments[2] + ".npy")
            print("wrote: \((niftiResult.paths + numpyResult.paths).joined(separator: " "))")
            print("streamed: \(niftiResult.streamed)")
        } catch {
            print("ct2nii: error: \(error)")
            exit(1)
        }
    }
}
