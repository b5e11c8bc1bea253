import Synchronization

/// Limits every reader applies to what an input may make medvol do: how much memory its headers may
/// ask for, and whether the files it names may lie outside its folder. Process-wide settings (the CLI's
/// `--max-memory` and `--allow-outside-references`), read by every reader.
public enum ReadingLimits {
    /// The default memory limit: 2 GiB. A header can announce any size, and a few MiB of compressed zeros
    /// hold GiB (deflate reaches 1032:1), so the limit, not the machine's memory, bounds what a small
    /// hostile file can make medvol allocate.
    public static let defaultMaximumMemory = 2 << 30

    private static let memory = Atomic<Int>(defaultMaximumMemory)
    private static let outside = Atomic<Bool>(false)

    /// The most bytes one buffer that an input's headers size (a volume's voxels, an inflated data set)
    /// may take. ``defaultMaximumMemory`` unless set.
    public static var maximumMemory: Int {
        get { memory.load(ordering: .relaxed) }
        set { memory.store(max(0, newValue), ordering: .relaxed) }
    }

    /// Whether data files and DICOMDIR references that resolve outside the input's folder are read
    /// (false: they are refused with an error).
    public static var allowsOutsideReferences: Bool {
        get { outside.load(ordering: .relaxed) }
        set { outside.store(newValue, ordering: .relaxed) }
    }

    /// A byte count as people read it: "512 KiB", "3 GiB", "1.5 GiB", "800 bytes".
    public static func describe(bytes: Int) -> String {
        let units = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (size, name) in units where bytes >= size {
            let value = Double(bytes) / Double(size)
            let rounded = (value * 10).rounded() / 10
            return (rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)) + " " + name
        }
        return "\(bytes) bytes"
    }

    /// A size given as a number of bytes with an optional suffix K, M, G or T (powers of 1024; "KiB",
    /// "KB" and "k" work too), or nil when it is not one.
    public static func parseSize(_ text: String) -> Int? {
        var number = text.trimmingCharacters(in: " ")
        let factors: [(String, Int)] = [("tib", 1 << 40), ("gib", 1 << 30), ("mib", 1 << 20), ("kib", 1 << 10),
                                        ("tb", 1 << 40), ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10),
                                        ("t", 1 << 40), ("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10), ("b", 1)]
        var factor = 1
        for (suffix, value) in factors where number.lowercased().hasSuffix(suffix) {
            number = String(number.dropLast(suffix.count)).trimmingCharacters(in: " ")
            factor = value
            break
        }
        guard let amount = Double(number), amount.isFinite, amount > 0 else { return nil }
        let bytes = amount * Double(factor)
        guard bytes < 9.2e18 else { return nil }
        return Int(bytes)
    }

    /// Refuses a buffer of `byteCount` bytes (asked for by the headers of `path`) larger than
    /// ``maximumMemory``, before anything is allocated.
    static func checkAllocation(_ byteCount: Int, path: String, what: String = "the voxels take") throws {
        let limit = maximumMemory
        guard byteCount > limit else { return }
        throw MedVolError.unsupported(path, "\(what) \(byteCount) bytes (\(describe(bytes: byteCount))), more than the memory limit of \(describe(bytes: limit)) (raise it with --max-memory)")
    }
}
