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

    /// A control that reports into `reports` and holds each reporting thread 20 ms, so that a load of a
    /// few hundred slices lasts a second or more (long enough to cancel it in the middle) and a
    /// cancelled load still has slices in flight.
    private static func slowedControl() -> (WorkControl, AsyncStream<WorkProgress>) {
        let (reports, continuation) = AsyncStream.makeStream(of: WorkProgress.self)
        return (WorkControl(progress: { report in
            continuation.yield(report)
            usleep(20_000)
        }), reports)
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
        let started = Atomic<Int>(0)
        let (control, reports) = Self.slowedControl()
        let task = Task { try await stack.load(options: DICOMLoadOptions(control: control)) }
        // Cancel once decoding is under way (a few slices done).
        for await report in reports where report.stage == "decoding" && report.completed >= 4 {
            started.store(report.completed, ordering: .relaxed)
            break
        }
        let cancelled = ContinuousClock.now
        task.cancel()
        let outcome = await task.result
        let delay = ContinuousClock.now - cancelled
        #expect(started.load(ordering: .relaxed) >= 4)
        #expect(throws: CancellationError.self) { try outcome.get() }
        #expect(delay < .milliseconds(100), "threw \(delay) after cancelling")
    }

    @Test func cancellingAWriteLeavesNoOutput() async throws {
        let folder = TemporaryFolder()
        let stack = try Self.phantomStack(in: folder, size: [256, 256, 300])
        try FileSystem.createDirectory(folder.file("out"))
        let (control, reports) = Self.slowedControl()
        let task = Task {
            try await stack.write(to: folder.file("out/ct.nii.gz"), loadOptions: DICOMLoadOptions(control: control))
        }
        for await report in reports where report.stage == "decoding" && report.completed >= 4 { break }
        let cancelled = ContinuousClock.now
        task.cancel()
        let outcome = await task.result
        let delay = ContinuousClock.now - cancelled
        #expect(throws: CancellationError.self) { try outcome.get() }
        #expect(delay < .milliseconds(100), "threw \(delay) after cancelling")
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
