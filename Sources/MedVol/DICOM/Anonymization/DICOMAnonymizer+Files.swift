#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What ``DICOMAnonymizer/anonymize(input:output:overwrite:mappingPath:control:)`` did.
public struct DICOMAnonymizationReport: Sendable {
    /// One de-identified file.
    public struct File: Sendable, Hashable {
        /// The input file's path.
        public var input: String
        /// Where its de-identified copy was written.
        public var output: String
        /// The transfer syntax written (the input's, except the retired big-endian syntax, which
        /// becomes explicit VR little endian).
        public var transferSyntax: TransferSyntax
    }

    /// The output file or folder.
    public var output: String
    /// Every file written, in input path order.
    public var files: [File]
    /// Input files not copied, with the reason (not DICOM, DICOMDIR, …).
    public var skipped: [SkippedFile]
    /// The mapping file written, if one was asked for.
    public var mappingPath: String?
    /// How many distinct UIDs were replaced.
    public var replacedUIDCount: Int
}

extension DICOMAnonymizer {
    /// De-identifies one DICOM file (already parsed) and returns the data set and the transfer syntax
    /// to write it in.
    public func anonymizedDataSet(of file: DICOMFile) throws -> (dataSet: DICOMDataSet, transferSyntax: TransferSyntax) {
        let dataSet = try anonymize(file.dataSet)
        guard dataSet.string(.sopClassUID) != nil || file.fileMetaInformation.string(.mediaStorageSOPClassUID) != nil else {
            throw MedVolError(.unsupported, path: file.path, reason: "has no SOP Class UID (0008,0016): cannot write a Part 10 file for it")
        }
        var withInstance = dataSet
        if withInstance.string(.sopInstanceUID) == nil {
            // A file that names its instance only in the meta group keeps that (replaced) UID.
            let original = file.fileMetaInformation.string(.mediaStorageSOPInstanceUID)
            withInstance.set(try .uid(.sopInstanceUID, original.map(replacementUID(for:)) ?? DICOMUID.generate()))
        }
        if withInstance.string(.sopClassUID) == nil, let sopClass = file.fileMetaInformation.string(.mediaStorageSOPClassUID) {
            withInstance.set(try .uid(.sopClassUID, sopClass))
        }
        let syntax = file.transferSyntax.isLittleEndian ? file.transferSyntax : .explicitVRLittleEndian
        return (withInstance, syntax)
    }

    /// De-identifies the DICOM file at `input` into a new file at `output` (written under a temporary
    /// name, then renamed; an existing `output` is refused unless `overwrite`). Throws a
    /// `.unrecognizedFormat` error when `input` is not a DICOM file.
    public func anonymizeFile(at input: String, to output: String, overwrite: Bool = false) throws {
        try OutputTransaction.write(outputs: [output], overwrite: overwrite) { transaction in
            _ = try writeAnonymized(input, to: transaction.stagingPath(for: output))
        }
    }

    /// Reads, de-identifies and writes one file; returns the syntax written.
    private func writeAnonymized(_ input: String, to path: String) throws -> TransferSyntax {
        let file = try DICOMFile.read(path: input, extent: .everything)
        if file.isDirectory {
            throw MedVolError(.unsupported, path: input, reason: "is a DICOMDIR: its record offsets would not survive de-identification; make a new one from the output (e.g. with gdcmgendir)")
        }
        let (dataSet, syntax) = try anonymizedDataSet(of: file)
        try FileSystem.createDirectory(FileSystem.parentDirectory(of: path))
        try DICOMFileWriter.writeFile(meta: DICOMDataSet(), dataSet: dataSet, transferSyntax: syntax, source: file, at: path)
        return syntax
    }

    /// De-identifies a DICOM file, or every DICOM file under a folder, into `output`: a file for a file,
    /// a folder with the same tree (one file per input file, same relative paths) for a folder.
    ///
    /// Files that are not DICOM, and DICOMDIR files (whose byte offsets could not survive), are skipped
    /// and listed in the report. Any other failure (a damaged DICOM file, …) stops the run and throws:
    /// nothing is written, since everything goes into a staging folder beside `output` that is renamed
    /// into place only when every file is done. `input` is only read; `output` must not lie inside it, and
    /// an existing `output` is refused unless `overwrite` (it is then replaced as a whole).
    ///
    /// With `mappingPath`, a JSON file is written there too (in the same transaction) with every
    /// original → new UID and Patient ID: it re-identifies the data, so keep it apart from them.
    @discardableResult
    public func anonymize(input: String, output: String, overwrite: Bool = false, mappingPath: String? = nil,
                          control: WorkControl = .none) throws -> DICOMAnonymizationReport {
        let input = FileSystem.trimmingTrailingSlashes(input)
        let output = FileSystem.trimmingTrailingSlashes(output)
        let inputKind = FileSystem.kind(of: input)
        guard inputKind == .file || inputKind == .directory else {
            throw inputKind == .missing ? MedVolError.notFound(input)
                : MedVolError(.invalidArgument, path: input, reason: "is neither a file nor a folder")
        }
        let resolvedInput = Self.resolved(input)
        let resolvedOutput = Self.resolved(output)
        if resolvedOutput == resolvedInput || (inputKind == .directory && resolvedOutput.hasPrefix(resolvedInput + "/")) {
            throw MedVolError(.invalidArgument, path: output, reason: "lies inside the input \(input); choose an output outside it")
        }
        if let mappingPath {
            let resolvedMapping = Self.resolved(mappingPath)
            if resolvedMapping == resolvedOutput || resolvedMapping == resolvedInput
                || (inputKind == .directory && resolvedMapping.hasPrefix(resolvedInput + "/")) {
                throw MedVolError(.invalidArgument, path: mappingPath, reason: "the mapping file must lie outside the input and be apart from the output")
            }
        }

        let candidates = inputKind == .directory ? try FileSystem.regularFiles(under: input) : [input]
        let outputs = [output] + (mappingPath.map { [$0] } ?? [])
        var report = DICOMAnonymizationReport(output: output, files: [], skipped: [], mappingPath: mappingPath, replacedUIDCount: 0)
        try OutputTransaction.write(outputs: outputs, overwrite: overwrite) { transaction in
            let staging = transaction.stagingPath(for: output)
            if inputKind == .directory { try FileSystem.createDirectory(staging) }
            let progress = ProgressCounter(stage: "anonymizing", total: candidates.count, control: control)
            enum Outcome: Sendable { case written(DICOMAnonymizationReport.File), skipped(SkippedFile) }
            let outcomes: [Outcome] = try Parallel.map(candidates.count) { index in
                try control.checkCancellation()
                defer { progress.advance() }
                let path = candidates[index]
                let relative = inputKind == .directory ? String(path.dropFirst(input.count + 1)) : ""
                let target = inputKind == .directory ? "\(staging)/\(relative)" : staging
                let finalPath = inputKind == .directory ? "\(output)/\(relative)" : output
                do {
                    let syntax = try self.writeAnonymized(path, to: target)
                    return .written(.init(input: path, output: finalPath, transferSyntax: syntax))
                } catch let error as MedVolError where error.code == .unrecognizedFormat {
                    return .skipped(SkippedFile(path: path, reason: error.reason))
                } catch let error as MedVolError where error.code == .unsupported && error.reason.hasPrefix("is a DICOMDIR") {
                    return .skipped(SkippedFile(path: path, reason: "DICOMDIR not copied (its record offsets would be stale; make a new one from the output)"))
                } catch let error as MedVolError {
                    throw error.at(path)
                }
            }
            for outcome in outcomes {
                switch outcome {
                case .written(let file): report.files.append(file)
                case .skipped(let skipped): report.skipped.append(skipped)
                }
            }
            guard !report.files.isEmpty else {
                let reason = report.skipped.isEmpty ? "no files found" : "no DICOM files among the \(report.skipped.count) files found"
                throw MedVolError(.noImages, path: input, reason: reason)
            }
            if let mappingPath {
                try writeMapping(to: transaction.stagingPath(for: mappingPath))
            }
        }
        report.replacedUIDCount = uidMapping.count
        return report
    }

    /// `{"uids": {old: new, …}, "patientIDs": {original: pseudonym, …}}`.
    private func writeMapping(to path: String) throws {
        let uids = JSONObject(uidMapping.map { ($0.original, JSONValue.string($0.replacement)) })
        let patients = JSONObject(patientIDMapping.map { ($0.original, JSONValue.string($0.replacement)) })
        let document = JSONValue.object(JSONObject([("uids", .object(uids)), ("patientIDs", .object(patients))]))
        let file = try WritableFile(creating: path)
        try file.write(document.prettyText + "\n")
        try file.close()
    }

    /// The absolute path with symbolic links resolved as far as the path exists.
    static func resolved(_ path: String) -> String {
        if let real = realpath(path, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        let parent = FileSystem.parentDirectory(of: path)
        let name = FileSystem.lastComponent(of: path)
        if parent == path || parent.isEmpty { return path }
        let base = parent == "." ? resolved(".") : resolved(parent)
        return base == "/" ? "/" + name : base + "/" + name
    }
}
