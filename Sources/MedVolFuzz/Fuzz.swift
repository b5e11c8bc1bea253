// medvol-fuzz: the libFuzzer targets of docs/fuzzing.md, one executable for all of them.
//
// Built with `-sanitize=fuzzer,address -D MEDVOL_LIBFUZZER` (`make fuzz`), libFuzzer's own `main` drives
// `LLVMFuzzerTestOneInput`, and the environment variable MEDVOL_FUZZ_TARGET names the target. Built
// plainly (`swift build`), `medvol-fuzz TARGET FILE…` runs a target once on each file — how a crash
// input is replayed without the fuzzer — and `medvol-fuzz --write-seeds DIR` / `--extract-pixel-seeds DIR`
// make the seed corpus (the fuzzing build does the same from MEDVOL_FUZZ_WRITE_SEEDS /
// MEDVOL_FUZZ_EXTRACT_PIXEL_SEEDS).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MedVol

/// The target and the scratch folder of this process, set up once.
private struct FuzzSession: @unchecked Sendable {
    let target: FuzzTarget
    let scratch: String

    nonisolated(unsafe) static var current: FuzzSession?

    static func fail(_ message: String) -> Never {
        let line = Array("medvol-fuzz: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(2)
    }

    static func target(named name: String?) -> FuzzTarget {
        guard let name, let target = FuzzTarget(rawValue: name) else {
            fail("name a target (\(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))), not \(name ?? "nothing")")
        }
        return target
    }

    /// Seed-making requests; exits when one was made.
    static func makeSeedsIfAsked(flag: String, root: String?) {
        guard let root else { return }
        do {
            if flag == "write" { try FuzzTarget.writeSeeds(root: root) } else { try FuzzTarget.extractPixelSeeds(root: root) }
        } catch {
            fail("making seeds in \(root): \(error)")
        }
        exit(0)
    }
}

#if MEDVOL_LIBFUZZER

/// libFuzzer's driver (in the fuzzer runtime `-sanitize=fuzzer` links). SwiftPM links executables with
/// `main` defined as `<module>_main`, so libFuzzer's own `main` is never used: ours calls its driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                             _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("MedVolFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzerTestOneInput)
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    FuzzSession.makeSeedsIfAsked(flag: "write", root: getenv("MEDVOL_FUZZ_WRITE_SEEDS").map { String(cString: $0) })
    FuzzSession.makeSeedsIfAsked(flag: "extract", root: getenv("MEDVOL_FUZZ_EXTRACT_PIXEL_SEEDS").map { String(cString: $0) })
    let target = FuzzSession.target(named: getenv("MEDVOL_FUZZ_TARGET").map { String(cString: $0) })
    FuzzTarget.limitMemoryForFuzzing()
    do {
        FuzzSession.current = FuzzSession(target: target, scratch: try FuzzTarget.makeScratchFolder())
    } catch {
        FuzzSession.fail("no scratch folder: \(error)")
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let session = FuzzSession.current else { return 0 }
    session.target.run(UnsafeRawBufferPointer(start: data, count: size), scratch: session.scratch)
    return 0
}

#else

@main
struct MedVolFuzzReplay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.count == 2, arguments[0] == "--write-seeds" { FuzzSession.makeSeedsIfAsked(flag: "write", root: arguments[1]) }
        if arguments.count == 2, arguments[0] == "--extract-pixel-seeds" { FuzzSession.makeSeedsIfAsked(flag: "extract", root: arguments[1]) }
        let target = FuzzSession.target(named: arguments.first)
        FuzzTarget.limitMemoryForFuzzing()
        let scratch: String
        do { scratch = try FuzzTarget.makeScratchFolder() } catch { FuzzSession.fail("no scratch folder: \(error)") }
        for path in arguments.dropFirst() {
            guard let file = fopen(path, "rb") else { FuzzSession.fail("cannot open \(path)") }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = fread(&chunk, 1, chunk.count, file)
                if count <= 0 { break }
                bytes += chunk[0..<count]
            }
            fclose(file)
            let refusal = bytes.withUnsafeBytes { target.run($0, scratch: scratch) }
            print("\(target.rawValue): \(path): no crash; " + (refusal.map { "refused: \($0)" } ?? "read"))
        }
        FuzzTarget.removeScratchFolder(scratch)
    }
}

#endif
