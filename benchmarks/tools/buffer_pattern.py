"""Same bytes, two ways of moving them: what holding the whole volume in memory costs.

    python benchmarks/tools/buffer_pattern.py benchmarks/work/data/ct500 /tmp 9

(a) "whole", medvol's pattern: pread every slice's pixel data into one fresh buffer (MADV_HUGEPAGE, as medvol
    allocates its volume), then write the whole buffer at once.
(b) "stream": pread each slice into one reused 512 KiB buffer and write it at once.
Single-threaded, no conversion; alternates the two; prints medians (see benchmarks/PROFILE.md).
"""
import glob
import mmap
import os
import statistics
import sys
import time

SLOT = 524288  # pixel bytes of one 512×512 16-bit slice


def whole(files: list[str], header: int, out: str) -> None:
    buffer = mmap.mmap(-1, SLOT * len(files), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    buffer.madvise(mmap.MADV_HUGEPAGE)
    view = memoryview(buffer)
    for index, path in enumerate(files):
        fd = os.open(path, os.O_RDONLY)
        os.preadv(fd, [view[index * SLOT:(index + 1) * SLOT]], header)
        os.close(fd)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, view)
    os.close(fd)
    view.release()
    buffer.close()


def stream(files: list[str], header: int, out: str) -> None:
    view = memoryview(bytearray(SLOT))
    output = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        os.preadv(fd, [view], header)
        os.close(fd)
        os.write(output, view)
    os.close(output)


def main() -> None:
    series, scratch, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    files = sorted(glob.glob(os.path.join(series, "*")))
    header = os.path.getsize(files[0]) - SLOT
    results: dict[str, list[tuple[float, float]]] = {"whole": [], "stream": []}
    patterns = [("whole", whole), ("stream", stream)]
    for repeat in range(repeats):
        for name, pattern in patterns if repeat % 2 == 0 else patterns[::-1]:
            out = os.path.join(scratch, "buffer_pattern.raw")
            start, cpu = time.perf_counter(), os.times()
            pattern(files, header, out)
            wall, system = time.perf_counter() - start, os.times().system - cpu.system
            results[name].append((wall, system))
            os.unlink(out)
    for name, runs in results.items():
        walls = " ".join(f"{wall:.2f}" for wall, _ in runs)
        print(f"{name:6}: wall median {statistics.median(w for w, _ in runs):.3f} s (runs {walls}), "
              f"sys median {statistics.median(s for _, s in runs):.3f} s")


if __name__ == "__main__":
    main()
