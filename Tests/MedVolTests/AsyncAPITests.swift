import Foundation
import Synchronization
import Testing
@testable import MedVol

/// The async API: results equal to the synchronous calls', Task cancellation, progress as a sequence.
@Suite struct AsyncAPITests {
    /// A CT phantom written as a DICOM series of `slices` slices, scanned.
    private static func phantomStack(in folder: TemporaryFolder, size: [Int]) throws -> DICOMStack {
        try DICOMSeriesWriter.write(Phantom.ct(size: size), toDirectory: folder.file("series"))
        let scan = try DICOMScan(paths: [folder.file("series")])
        try #require(scan.stacks.count == 1)
        return scan.stacks[0]
    }

    /// Cancels a Task from the work's own progress reports (a Dispatch thread, so a busy cooperative pool
    /// cannot delay it) once `after` slices are decoded, and notes when it cancelled and when the last
    /// report came. Each report holds its thread 20 ms, so the work lasts a second or more.
    final class CancellingProbe: Sendable {
        let task = Mutex<Task<Void, any Error>?>(nil)
        let cancelledAt = Mutex<ContinuousClock.Instant?>(nil)
        let lastReport = Mutex<ContinuousClock.Instant?>(nil)

        func control(after: Int) -> WorkControl {
            WorkControl(progress: { report in
                self.lastReport.withLock { $0 = .now }
                if report.stage == "decoding", report.completed >= after, self.cancelledAt.withLock({ $0 == nil }),
                   let task = self.task.withLock({ $0 }) {
                    self.cancelledAt.withLock { $0 = .now }
                    task.cancel()
                }
                usleep(20_000)
            })
        }

        /// Time from cancelling to the last report of the work (slices in flight finishing).
        var stoppedAfter: Duration? {
            guard let cancelled = cancelledAt.withLock({ $0 }), let last = lastReport.withLock({ $0 }) else { return nil }
            return last - cancelled
        }
    }

    @Test func asyncScanLoadAndWriteGiveWhatTheSynchronousCallsGive() async throws {
        let folder = TemporaryFolder()
        _ = try Self.phantomStack(in: folder, size: [40, 32, 12])
        let scan = try await DICOMScan(paths: [folder.file("series")])
        let stack = try #require(scan.stacks.first)
        let asyncVolume = try await stack.load()
        let syncVolume: Volume = try { try stack.load() }()
        #expect(asyncVolume.geometry == syncVolume.geometry)
        #expect(asyncVolume.withUnsafeBytes { Array($0) } == syncVolume.withUnsafeBytes { Array($0) })

        let result = try await stack.write(to: folder.file("out.nii.gz"))
        #expect(result.streamed)
        #expect(result.paths == [folder.file("out.nii.gz")])
        #expect(result.info.geometry == syncVolume.geometry)
        let back = try await Volume(contentsOf: folder.file("out.nii.gz"))
        #expect(back.withUnsafeBytes { Array($0) } == syncVolume.withUnsafeBytes { Array($0) })

        // DICOM output goes through the same call, with the series writer's report.
        let series = try await stack.write(to: folder.file("copy"), format: .dicom)
        #expect(series.dicomSeries?.paths.count == 12)
        #expect(series.paths == series.dicomSeries?.paths)
    }

    @Test func cancellingALoadStopsItPromptlyWithCancellationError() async throws {
        let folder = TemporaryFolder()
        let stack = try Self.phantomStack(in: folder, size: [256, 256, 300])
        let probe = CancellingProbe()
        let control = probe.control(after: 4)
        let task = Task { _ = try await stack.load(options: DICOMLoadOptions(control: control)) }
        probe.task.withLock { $0 = task }
        let outcome = await task.result
        #expect(throws: CancellationError.self) { try outcome.get() }
        let stopped = try #require(probe.stoppedAfter)
        #expect(stopped < .milliseconds(100), "the work went on \(stopped) after cancelling")
    }

    @Test func cancellingAWriteLeavesNoOutput() async throws {
        let folder = TemporaryFolder()
        let stack = try Self.phantomStack(in: folder, size: [256, 256, 300])
        try FileSystem.createDirectory(folder.file("out"))
        let probe = CancellingProbe()
        let control = probe.control(after: 4)
        let task = Task {
            _ = try await stack.write(to: folder.file("out/ct.nii.gz"), loadOptions: DICOMLoadOptions(control: control))
        }
        probe.task.withLock { $0 = task }
        let outcome = await task.result
        #expect(throws: CancellationError.self) { try outcome.get() }
        let stopped = try #require(probe.stoppedAfter)
        #expect(stopped < .milliseconds(100), "the work went on \(stopped) after cancelling")
        #expect(folder.contents(of: folder.file("out")) == [])
    }

    @Test func aTaskCancelledBeforeItStartsDoesNoWork() async throws {
        let folder = TemporaryFolder()
        let stack = try Self.phantomStack(in: folder, size: [16, 16, 4])
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await stack.write(to: folder.file("never.npy"))
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(!FileManager.default.fileExists(atPath: folder.file("never.npy")))
    }

    @Test func progressArrivesAsASequenceThatEndsWithTheWork() async throws {
        let folder = TemporaryFolder()
        let stack = try Self.phantomStack(in: folder, size: [64, 64, 30])
        let (control, reports) = WorkControl.reportingProgress(bufferingNewest: 1000)
        async let written = stack.write(to: folder.file("ct.npy"), loadOptions: DICOMLoadOptions(control: control))
        var seen: [WorkProgress] = []
        for await report in reports { seen.append(report) }   // ends when the write returns
        let result = try await written
        #expect(result.paths.count == 2)
        let decoding = seen.filter { $0.stage == "decoding" }
        #expect(decoding.first?.completed == 0)
        #expect(decoding.last == WorkProgress(stage: "decoding", completed: 30, total: 30))
        #expect(decoding.map(\.completed).allSatisfy { (0...30).contains($0) })
    }
}
