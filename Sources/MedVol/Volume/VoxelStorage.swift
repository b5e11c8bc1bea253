#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The memory behind a ``Volume``'s voxels: one contiguous, 64-byte aligned, zero-initialised block.
///
/// Large blocks are mapped anonymously (pages arrive zeroed on first touch, and transparent huge pages
/// are requested so that filling 250 MB does not take 60,000 page faults). `Volume` shares a storage
/// between copies and copies it only when a shared one is about to be written (copy-on-write), so the
/// class is safe to send: nobody writes to a storage that someone else can see.
final class VoxelStorage: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer
    let byteCount: Int
    private let isMapped: Bool

    /// Blocks from this size up are mapped with mmap rather than taken from malloc.
    private static let mappingThreshold = 1 << 21

    init(byteCount: Int) {
        self.byteCount = byteCount
        let allocationSize = max(byteCount, 1)
        #if os(Linux)
        if allocationSize >= Self.mappingThreshold,
           let mapped = mmap(nil, allocationSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
           mapped != MAP_FAILED {
            _ = madvise(mapped, allocationSize, 14 /* MADV_HUGEPAGE */)
            bytes = mapped
            isMapped = true
            return
        }
        #endif
        bytes = UnsafeMutableRawPointer.allocate(byteCount: allocationSize, alignment: 64)
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: allocationSize)
        isMapped = false
    }

    /// A new storage holding the same bytes.
    func copy() -> VoxelStorage {
        let duplicate = VoxelStorage(byteCount: byteCount)
        duplicate.bytes.copyMemory(from: bytes, byteCount: byteCount)
        return duplicate
    }

    deinit {
        #if os(Linux)
        if isMapped {
            munmap(bytes, max(byteCount, 1))
            return
        }
        #endif
        bytes.deallocate()
    }
}
