#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `anonymize(input:output:…)` did.
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
        /// Why its pixels may show identifying text (``BurnedInAnnotation/assess(_:)``), nil if not:
        /// medvol does not look at the pixels.
        public var burnedInAnnotation: String?
    }

    /// How the files of a folder are named in the output.
    public enum OutputNaming: Sendable, Hashable {
        /// `PSEUDONYM/study-N/series-S/IIII.dcm`, from the new identifiers only.
        case fromNewIdentifiers
        /// The input's relative paths, except names that contain an original identifier value.
        case keepInputNames
    }

    /// The output file or folder.
    public var output: String
    /// Every file written, in input path order.
    public var files: [File]
    /// Input files not copied, with the reason (not DICOM, DICOMDIR, …); in their paths, components that
    /// contain an original identifier are "[redacted]".
    public var skipped: [SkippedFile]
    /// The mapping file written, if one was asked for.
    public var mappingPath: String?
    /// How many distinct UIDs were replaced.
    public var replacedUIDCount: Int
}

extension DICOMAnonymizer {
    /// De-identifies one DICOM file (already parsed) and returns the data set and the transfer syntax
    /// to write it in.
    /// `identifiers` are searched for in every element (by default those of the file itself, meta group included).
    public func anonymizedDataSet(of file: DICOMFile, identifiers: DeidentificationIdentifiers? = nil)
        throws -> (dataSet: DICOMDataSet, transferSyntax: TransferSyntax) {
        var identifiers = identifiers ?? DeidentificationIdentifiers(of: file.dataSet)
        identifiers.add(file.fileMetaInformation)
        let dataSet = try anonymize(file.dataSet, identifiers: identifiers)
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
    private func writeAnonymized(_ input: String, to path: String, identifiers: DeidentificationIdentifiers? = nil) throws -> TransferSyntax {
        let file = try DICOMFile.read(path: input, extent: .everything)
        if file.isDirectory {
            throw MedVolError(.unsupported, path: input, reason: "is a DICOMDIR: its record offsets would not survive de-identification; make a new one from the output (e.g. with gdcmgendir)")
        }
        let (dataSet, syntax) = try anonymizedDataSet(of: file, identifiers: identifiers)
        try FileSystem.createDirectory(FileSystem.parentDirectory(of: path))
        try DICOMFileWriter.writeFile(meta: DICOMDataSet(), dataSet: dataSet, transferSyntax: syntax, source: file, at: path)
        return syntax
    }

    /// De-identifies a DICOM file, or every DICOM file under a folder, into `output`: a file for a file,
    /// and for a folder a new tree whose names come from the new identifiers only (see
    /// `OutputNaming`): `PSEUDONYM/study-N/series-S/IIII.dcm`, the same tree for the same input on
    /// every run. With `naming: .keepInputNames` the input's relative paths are kept, except each
    /// file or folder name that contains an original identifier value (``DeidentificationIdentifiers``
    /// of any file of the run), which becomes `redacted-N` (a file keeps its extension).
    ///
    /// Every element of every file is also searched for the identifier values of all files of the
    /// run (``anonymize(_:identifiers:)``). Paths in the report's skipped files and in errors have the
    /// components that contain an identifier replaced by "[redacted]".
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
                          naming: DICOMAnonymizationReport.OutputNaming = .fromNewIdentifiers,
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

        let candidates = inputKind == .directory ? try FileSystem.regularFiles(under: input).sorted() : [input]
        let headers = try scanHeaders(candidates, control: control)
        var identifiers = DeidentificationIdentifiers()
        for case .dicom(let header) in headers { identifiers.formUnion(header.identifiers) }
        let allIdentifiers = identifiers
        let redact: @Sendable (String) -> String = { allIdentifiers.redacted($0) }
        if let failure = headers.lazy.compactMap({ if case .failed(let path, let error) = $0 { (path, error) } else { nil } }).first {
            throw MedVolError(failure.1.code, path: redact(failure.0), reason: failure.1.reason)
        }
        var report = DICOMAnonymizationReport(output: output, files: [], skipped: [], mappingPath: mappingPath, replacedUIDCount: 0)
        var planned: [(input: String, relative: String, burnedIn: String?)] = []
        for header in headers {
            switch header {
            case .dicom(let header): planned.append((header.path, "", header.burnedIn))
            case .skipped(let path, let reason): report.skipped.append(SkippedFile(path: redact(path), reason: reason))
            case .failed: break
            }
        }
        guard !planned.isEmpty else {
            let reason = report.skipped.isEmpty ? "no files found" : "no DICOM files among the \(report.skipped.count) files found"
            throw MedVolError(.noImages, path: redact(input), reason: reason)
        }
        if inputKind == .directory {
            let dicomHeaders = headers.compactMap { if case .dicom(let header) = $0 { header } else { nil } }
            // Pseudonyms in path order, so that the same input gets the same ones on every run.
            for header in dicomHeaders { _ = pseudonym(forPatientID: header.patientID) }
            let names = naming == .keepInputNames
                ? Self.keptNames(dicomHeaders.map { String($0.path.dropFirst(input.count + 1)) }, identifiers: identifiers)
                : Self.newNames(dicomHeaders, pseudonym: { self.pseudonym(forPatientID: $0) })
            for index in planned.indices { planned[index].relative = names[index] }
        }

        let plans = planned
        let outputs = [output] + (mappingPath.map { [$0] } ?? [])
        try OutputTransaction.write(outputs: outputs, overwrite: overwrite) { transaction in
            let staging = transaction.stagingPath(for: output)
            if inputKind == .directory { try FileSystem.createDirectory(staging) }
            let progress = ProgressCounter(stage: "anonymizing", total: plans.count, control: control)
            let files: [DICOMAnonymizationReport.File] = try Parallel.map(plans.count) { index in
                try control.checkCancellation()
                defer { progress.advance() }
                let plan = plans[index]
                let target = inputKind == .directory ? "\(staging)/\(plan.relative)" : staging
                let finalPath = inputKind == .directory ? "\(output)/\(plan.relative)" : output
                do {
                    let syntax = try self.writeAnonymized(plan.input, to: target, identifiers: allIdentifiers)
                    return .init(input: plan.input, output: finalPath, transferSyntax: syntax, burnedInAnnotation: plan.burnedIn)
                } catch let error as MedVolError {
                    throw MedVolError(error.code, path: redact(error.path ?? plan.input), reason: error.reason)
                }
            }
            report.files = files
            if let mappingPath {
                try writeMapping(to: transaction.stagingPath(for: mappingPath))
            }
        }
        report.replacedUIDCount = uidMapping.count
        return report
    }

    /// What the header scan found for one candidate file.
    private enum ScannedFile: Sendable {
        case dicom(HeaderKeys)
        case skipped(path: String, reason: String)
        case failed(path: String, error: MedVolError)
    }

    /// The values of one file's header that name its output and that are searched for.
    struct HeaderKeys: Sendable {
        var path: String
        var patientID: String
        var studyUID: String
        var seriesUID: String
        var seriesNumber: Int?
        var instanceNumber: Int?
        var identifiers: DeidentificationIdentifiers
        var burnedIn: String?
    }

    /// Reads every candidate's header (never the pixels), in parallel, results in candidate order.
    private func scanHeaders(_ candidates: [String], control: WorkControl) throws -> [ScannedFile] {
        try Parallel.map(candidates.count) { index in
            try control.checkCancellation()
            let path = candidates[index]
            do {
                let file = try DICOMFile.read(path: path, extent: .headerOnly)
                if file.isDirectory {
                    return .skipped(path: path, reason: "DICOMDIR not copied (its record offsets would be stale; make a new one from the output)")
                }
                let dataSet = file.dataSet
                var identifiers = DeidentificationIdentifiers(of: dataSet)
                identifiers.add(file.fileMetaInformation)
                return .dicom(HeaderKeys(
                    path: path, patientID: dataSet.string(.patientID) ?? "",
                    studyUID: dataSet.string(.studyInstanceUID) ?? "", seriesUID: dataSet.string(.seriesInstanceUID) ?? "",
                    seriesNumber: dataSet.string(.seriesNumber).flatMap { Int($0) },
                    instanceNumber: dataSet.string(.instanceNumber).flatMap { Int($0) },
                    identifiers: identifiers, burnedIn: BurnedInAnnotation.assess(dataSet)))
            } catch let error as MedVolError where error.code == .unrecognizedFormat {
                return .skipped(path: path, reason: error.reason)
            } catch let error as MedVolError {
                return .failed(path: path, error: error)
            }
        }
    }

    /// `PSEUDONYM/study-N/series-S/IIII.dcm` for each header, in order: studies numbered per patient
    /// and series per study in the order first met; S is the Series Number (with "-K", the series'
    /// place in its study, when two series share it; "none-K" without one); IIII the Instance Number,
    /// four digits at least (with "-K", the file's place in its series, when repeated or absent).
    static func newNames(_ headers: [HeaderKeys], pseudonym: (String) -> String) -> [String] {
        var studies: [String: [String]] = [:]            // patient → study UIDs in order
        var series: [String: [String]] = [:]             // study key → series UIDs in order
        var seriesNumbers: [String: [Int?]] = [:]        // study key → their series numbers
        var instances: [String: [Int?]] = [:]            // series key → instance numbers in order
        for header in headers {
            let studyKey = header.patientID + "\u{0}" + header.studyUID
            if !(studies[header.patientID] ?? []).contains(header.studyUID) { studies[header.patientID, default: []].append(header.studyUID) }
            if !(series[studyKey] ?? []).contains(header.seriesUID) {
                series[studyKey, default: []].append(header.seriesUID)
                seriesNumbers[studyKey, default: []].append(header.seriesNumber)
            }
            instances[studyKey + "\u{0}" + header.seriesUID, default: []].append(header.instanceNumber)
        }
        var seen: [String: Int] = [:]                    // series key → files named so far
        return headers.map { header in
            let studyKey = header.patientID + "\u{0}" + header.studyUID
            let seriesKey = studyKey + "\u{0}" + header.seriesUID
            let studyIndex = studies[header.patientID]!.firstIndex(of: header.studyUID)! + 1
            let seriesIndex = series[studyKey]!.firstIndex(of: header.seriesUID)! + 1
            let numbers = seriesNumbers[studyKey]!
            let seriesName: String
            if let number = header.seriesNumber {
                seriesName = numbers.filter { $0 == number }.count == 1 ? "series-\(number)" : "series-\(number)-\(seriesIndex)"
            } else {
                seriesName = "series-none-\(seriesIndex)"
            }
            let position = seen[seriesKey, default: 0] + 1
            seen[seriesKey] = position
            let fileName: String
            if let number = header.instanceNumber, instances[seriesKey]!.filter({ $0 == number }).count == 1 {
                fileName = padded(number)
            } else {
                fileName = (header.instanceNumber.map(padded) ?? "none") + "-\(position)"
            }
            return "\(pseudonym(header.patientID))/study-\(studyIndex)/\(seriesName)/\(fileName).dcm"
        }
    }

    private static func padded(_ number: Int) -> String {
        let digits = String(number.magnitude)
        return (number < 0 ? "-" : "") + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// The input's relative paths with each component that contains an identifier replaced by
    /// `redacted-N` (N counted per folder, in path order; a file keeps an extension of letters).
    static func keptNames(_ relativePaths: [String], identifiers: DeidentificationIdentifiers) -> [String] {
        var replacements: [String: String] = [:]         // new parent + "/" + original component → new name
        var used: [String: Set<String>] = [:]            // new parent → names taken
        // Names that are kept are taken first, so a replacement never collides with one.
        var kept: [String: Set<String>] = [:]
        for path in relativePaths {
            var parent = ""
            for component in path.split(separator: "/").map(String.init) {
                if !identifiers.identifies(name: component) { kept[parent, default: []].insert(component) }
                parent += "/" + component
            }
        }
        return relativePaths.map { path in
            let components = path.split(separator: "/").map(String.init)
            var parent = ""
            var result: [String] = []
            for (index, component) in components.enumerated() {
                var name = component
                if identifiers.identifies(name: component) {
                    let key = parent + "/" + component
                    if let known = replacements[key] {
                        name = known
                    } else {
                        var suffix = ""
                        if index == components.count - 1, let dot = component.lastIndex(of: "."),
                           case let ext = component[component.index(after: dot)...],
                           !ext.isEmpty, ext.count <= 8, ext.allSatisfy({ $0.isASCII && $0.isLetter }),
                           !identifiers.occurs(in: String(ext)) {
                            suffix = "." + ext
                        }
                        var number = (used[parent]?.count ?? 0) + 1
                        while kept[parent]?.contains("redacted-\(number)\(suffix)") == true
                                || used[parent]?.contains("redacted-\(number)\(suffix)") == true { number += 1 }
                        name = "redacted-\(number)\(suffix)"
                        replacements[key] = name
                        used[parent, default: []].insert(name)
                    }
                }
                result.append(name)
                parent += "/" + name
            }
            return result.joined(separator: "/")
        }
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
