import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs independent pieces of work on all cores.
enum Parallel {
    /// Number of cores the process may use.
    static let processorCount: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Calls `body(i)` for every i in 0..<count, spread over the cores, and returns when all are done.
    /// Work is handed out in order, one index at a time, so slow items do not hold up a whole chunk.
    static func forEach(_ count: Int, maximumConcurrency: Int = processorCount, _ body: @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        let workers = min(count, max(1, maximumConcurrency))
        if workers == 1 {
            for index in 0..<count { body(index) }
            return
        }
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if index >= count { break }
                body(index)
            }
        }
    }

    /// Like `forEach`, collecting each item's result in order; the first error (by index) is rethrown
    /// after all items have finished.
    static func map<T: Sendable>(_ count: Int, maximumConcurrency: Int = processorCount,
                                 _ body: @Sendable (Int) throws -> T) throws -> [T] {
        let results = SystemMutex<[Result<T, any Error>?]>(Array(repeating: nil, count: count))
        forEach(count, maximumConcurrency: maximumConcurrency) { index in
            let result = Result { try body(index) }
            results.withLock { $0[index] = result }
        }
        return try results.withLock { all in try all.map { try $0!.get() } }
    }
}

/// A raw pointer that may cross into concurrent work; whoever shares it promises that the pieces of work
/// touch disjoint bytes.
struct SendableRawPointer: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    init(_ base: UnsafeMutableRawPointer) { self.base = base }
}

/// Buffers of one size that concurrent work borrows and gives back, so that each core reuses one
/// buffer from piece to piece: buffers of a few MiB allocated and freed for each piece grow the heap to
/// tens of MiB (glibc's mmap threshold rises past their size after the first free). Freed with the pool.
final class ScratchPool: Sendable {
    let byteCount: Int
    private let free = SystemMutex<[SendableRawPointer]>([])

    init(byteCount: Int) { self.byteCount = max(1, byteCount) }

    deinit { free.withLock { $0.forEach { $0.base.deallocate() } } }

    /// Runs `body` on a buffer of ``byteCount`` bytes no other caller uses meanwhile.
    func withBuffer<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        let buffer = free.withLock { $0.popLast() } ?? SendableRawPointer(.allocate(byteCount: byteCount, alignment: 64))
        defer { free.withLock { $0.append(buffer) } }
        return try body(UnsafeMutableRawBufferPointer(start: buffer.base, count: byteCount))
    }
}

/// A flag that long work checks between steps, set from anywhere to stop it.
public final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    /// A flag whose setting this one follows too (an async call's flag follows its caller's).
    private let parent: CancellationFlag?
    /// A flag not yet set.
    public init() { parent = nil }
    /// A flag that is set when ``cancel()`` is called on it or on `parent`.
    init(following parent: CancellationFlag?) { self.parent = parent }
    /// Sets the flag; work that checks it stops at its next check.
    public func cancel() { flag.store(true, ordering: .relaxed) }
    /// Whether ``cancel()`` has been called (on this flag or the one it follows).
    public var isCancelled: Bool { flag.load(ordering: .relaxed) || parent?.isCancelled == true }
}

/// A counter that many threads can advance.
final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)
    init() {}
    /// Adds one and returns the new value.
    func increment() -> Int { value.wrappingAdd(1, ordering: .relaxed).newValue }
}

/// A value guarded by a pthread mutex: every lock in the library is one of these. ThreadSanitizer models
/// pthread mutexes but not the futex under Synchronization's `Mutex` on Linux, so with `Mutex` it reported
/// the handoff of memory from one thread to another through the lock (CompressedSlotCollector's blocks, the
/// anonymizer's UID map) as races.
final class SystemMutex<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value

    init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` on the value with the mutex held.
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
