import ArgumentParser
import MedVol

#if canImport(Glibc)
import Glibc
#endif

/// `--shard K/N`: the part of an archive one of N processes converts.
struct ShardSelection: ExpressibleByArgument, Sendable {
    let shard: Int
    let count: Int

    init?(argument: String) {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let shard = Int(parts[0]), let count = Int(parts[1]), count >= 1, (1...count).contains(shard) else {
            return nil
        }
        self.shard = shard
        self.count = count
    }
}

extension Convert {
    /// Converts the stacks an archive index records (those of `--shard` and `--series`, when given) into
    /// `outputFolder`, named as a plain `convert ARCHIVE OUTPUT` names them, recording each result in the
    /// index. With `--resume`, stacks converted before from unchanged files, or whose output exists
    /// without a record, are skipped. Exit status 0 when every selected stack is converted (now or
    /// before), 3 when some failed and others are converted, 1 when none is.
    func convertFromIndex(_ indexPath: String, into outputFolder: String, format requested: VolumeFileFormat) throws {
        let started = ProgressDisplay.now()
        let progress = ProgressDisplay(quiet: quiet)
        defer { progress.finish() }
        let index = try ArchiveIndex(path: indexPath)
        let all = try index.stacks()
        guard !all.isEmpty else { throw MedVolError(.noImages, path: indexPath, reason: "the index holds no stacks") }
        var folder = outputFolder
        while folder.count > 1 && folder.hasSuffix("/") { folder.removeLast() }
        let format = requested == .nifti && compress ? VolumeFileFormat.niftiCompressed : requested
        // Names over the whole archive, in its order, so that every shard names a stack as one plain run would.
        var usedNames = Set<String>()
        let named = all.map { stack -> (stack: IndexedStack, base: String) in
            let wanted = OutputNaming.name(for: stack, pattern: name)
            return (stack, OutputNaming.claimUnique(in: &usedNames) { counter in counter.map { "\(wanted)_\($0)" } ?? wanted })
        }
        let chosen = try selection.series.map { try Self.chosenKeys($0, among: all) }
        let selected = named.filter { entry in
            if let shard, !entry.stack.isInShard(shard.shard, of: shard.count) { return false }
            return chosen?.contains(entry.stack.key) ?? true
        }
        var lines: [String] = []
        var converted = 0, alreadyDone = 0, failed = 0
        for (position, (stack, base)) in selected.enumerated() {
            progress.control.progress?(WorkProgress(stage: "converting stacks", completed: position, total: selected.count))
            let path = format == .dicom ? "\(folder)/\(base)" : "\(folder)/\(base).\(format.fileExtension)"
            let label = "#\(stack.position) (\(base))"
            var options = VolumeWriteOptions(overwrite: overwrite, compress: compress, compressionLevel: level)
            do {
                guard let digest = try index.currentSourceDigest(of: stack.key), digest == stack.sourceDigest else {
                    throw MedVolError(.inconsistentSeries, path: try index.files(of: stack.key).first?.path ?? indexPath,
                                      reason: "files of this stack changed since indexed; run medvol index again")
                }
                if resume && access(path, F_OK) == 0 {
                    let record = try index.conversionRecord(for: stack.key)
                    if record == nil || (record!.status == .converted && record!.sourceDigest == digest) {
                        if record == nil {
                            try index.record(StackConversionRecord(key: stack.key, status: .converted, output: path, format: format.fileExtension,
                                                                   sourceDigest: digest, warnings: [], error: nil))
                        }
                        alreadyDone += 1
                        continue
                    }
                    options.overwrite = true     // written before from files that changed since, or by another run
                }
                let dicomStack = try index.loadStack(stack)
                report(dicomStack.warnings.map { "\(label): \($0)" })
                let loadOptions = DICOMLoadOptions(storedValues: storedValues, scaling: scaling, control: progress.control,
                                                   codecIsolation: reading.codecIsolation)
                let result = try dicomStack.write(to: path, format: format, options: options, loadOptions: loadOptions)
                report(result.warnings.map { "\(label): \($0)" })
                try index.record(StackConversionRecord(key: stack.key, status: .converted, output: path, format: format.fileExtension,
                                                       sourceDigest: digest, warnings: dicomStack.warnings.map(\.description) + result.warnings, error: nil))
                converted += 1
                lines.append("  #\(stack.position) → \(path) (\(describe(result.info)))")
            } catch {
                failed += 1
                progress.finish()
                let line = stackFailureLine(error, label: label, output: path)
                Terminal.error(line)
                lines.append("  #\(stack.position) \(base) FAILED: \(error)")
                try? index.record(StackConversionRecord(key: stack.key, status: .failed, output: path, format: format.fileExtension,
                                                        sourceDigest: stack.sourceDigest, warnings: [], error: line))
            }
        }
        progress.finish()
        var head = "converted \(converted) of \(selected.count) stacks into \(folder)"
        if let shard { head += " (shard \(shard.shard)/\(shard.count) of \(all.count) stacks)" }
        if alreadyDone > 0 { head += ", \(alreadyDone) already converted" }
        if failed > 0 { head += ", \(failed) failed" }
        summary(head, started: started)
        if !quiet { Terminal.lines(lines) }
        if failed > 0 { throw ExitCode.someStacksFailed(anyConverted: converted + alreadyDone > 0) }
    }

    /// The keys of the stacks `--series LIST` names (comma-separated: positions as `series` lists them,
    /// stack keys `UID/ORDINAL`, or SeriesInstanceUIDs). A selector that names no stack is an error.
    static func chosenKeys(_ list: String, among all: [IndexedStack]) throws -> Set<String> {
        var byPosition: [Int: String] = [:], byKey = Set<String>(), bySeries: [String: [String]] = [:]
        for stack in all {
            byPosition[stack.position] = stack.key
            byKey.insert(stack.key)
            bySeries[stack.seriesInstanceUID, default: []].append(stack.key)
        }
        var chosen = Set<String>()
        for selector in list.split(separator: ",").map(String.init) {
            if let position = Int(selector), let key = byPosition[position] {
                chosen.insert(key)
            } else if byKey.contains(selector) {
                chosen.insert(selector)
            } else if let keys = bySeries[selector] {
                chosen.formUnion(keys)
            } else {
                throw MedVolError(.invalidArgument, reason: "--series \(selector): no stack of the index has this position, key or SeriesInstanceUID")
            }
        }
        return chosen
    }
}
