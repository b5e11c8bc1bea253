#!/usr/bin/env python3
"""Where medvol's CPU time goes, by stage, from `perf record` call stacks (software clock; works in VMs).

    .venv/bin/python benchmarks/perf_breakdown.py --medvol .build/release/medvol [--case ct500] [--format mhd] [--runs 5]

Runs `medvol convert WORK/data/CASE out.FORMAT` under `perf record -e cpu-clock -g` several times (page cache
warm), assigns every sample to a stage by the functions on its call stack, and prints each stage's share and
milliseconds of CPU (median over the runs). Needs `perf` (Debian: linux-perf) and the data of benchmarks/run.py.
The stages are checked in this order; the first that matches a sample's stack wins:

    start-up      dynamic loader, static constructors (GDCM's dictionaries)
    exit          process teardown (unmapping the volume, freeing)
    write         the output file's write()/writev() (ITK's MetaImage/NIfTI writer or medvol's .npy writer)
    scan          DICOMScan: listing files, reading 64 KiB header windows, parsing, stacks, layout
    zero-fill     the kernel zeroing fresh pages of the volume buffer on first touch (page faults)
    pixel read    pread() of the pixel data into the volume (copy from the page cache)
    convert       SampleConverter: bit masking, min/max, rescale (user space)
    decode other  the rest of StackLoader (job setup, codecs when compressed)
    other         anything else
"""
from __future__ import annotations

import argparse
import collections
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402

STAGES = [
    ("start-up", ["_dl_start_user", "_dl_init", "call_init", "dl_main", "_dl_relocate_object", "LoadDefault",
                  "_dl_map_object", "_dl_catch_exception", "__libc_early_init", "_GLOBAL__sub_I"]),
    ("exit", ["exit_mmap", "do_exit", "__run_exit_handlers", "_dl_fini", "do_group_exit"]),
    ("write", ["vfs_writev", "vfs_write", "ksys_write", "do_writev"]),
    ("scan", ["DICOMScan"]),
    ("zero-fill", ["folio_zero_user", "clear_page_erms", "clear_huge_page", "do_anonymous_page"]),
    ("pixel read", ["__x64_sys_pread64"]),
    ("convert", ["SampleConverter"]),
    ("decode other", ["StackLoader", "FrameDecoder", "RLEDecoder", "mv_codec"]),
]


def classify(stack: list[str]) -> str:
    text = "\n".join(stack)
    for stage, needles in STAGES:
        if any(needle in text for needle in needles):
            return stage
    return "other"


OTHER_LEAVES: collections.Counter = collections.Counter()   # leaf functions of the "other" samples


def parse_script(output: str) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    stack: list[str] = []
    in_sample = False
    for line in output.splitlines() + [""]:
        if not line.strip():
            if in_sample:
                stage = classify(stack)
                counts[stage] += 1
                if stage == "other":
                    OTHER_LEAVES[stack[0] if stack else "?"] += 1
            stack, in_sample = [], False
        elif not line.startswith((" ", "\t")):
            in_sample = True                      # header line: comm pid time: period event:
        else:
            parts = line.split(None, 1)
            stack.append(parts[1] if len(parts) > 1 else parts[0])
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--medvol", default=str(bench.REPO / ".build/release/medvol"))
    parser.add_argument("--work", default=str(bench.HERE / "work"))
    parser.add_argument("--case", default="ct500")
    parser.add_argument("--format", default="mhd", help="output extension: mhd, npy, nii, …")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--show-other", type=int, default=0, metavar="N",
                        help="print the N most frequent leaf functions of unclassified samples")
    parser.add_argument("--call-graph", default="dwarf", help="perf's --call-graph: dwarf (default) or fp")
    parser.add_argument("--frequency", type=int, default=4000, help="samples per second (cpu-clock)")
    args = parser.parse_args()
    if not shutil.which("perf"):
        parser.error("perf not found (apt-get install linux-perf)")
    medvol = str(Path(args.medvol).resolve())
    try:
        case = bench.existing_case(args.work, args.case)
    except FileNotFoundError as error:
        parser.error(str(error))
    bench.warm_page_cache(case)

    per_run: list[collections.Counter] = []
    with tempfile.TemporaryDirectory(dir=args.work) as scratch:
        for index in range(args.runs + 1):               # the first run is a warm-up, not counted
            out = Path(scratch) / "out"
            bench.fresh(out)
            data = Path(scratch) / "perf.data"
            subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", str(args.frequency), "--call-graph", args.call_graph, "-o", str(data),
                            "--", medvol, "convert", str(case.directory), str(out / f"out.{args.format}"), "--overwrite", "--quiet"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            script = subprocess.run(["perf", "script", "-i", str(data), "-F", "comm,tid,time,event,ip,sym"],
                                    capture_output=True, text=True, check=True).stdout
            if index > 0:
                per_run.append(parse_script(script))
            shutil.rmtree(out, ignore_errors=True)

    stages = [name for name, _ in STAGES] + ["other"]
    ms_per_sample = 1000 / args.frequency
    rows = []
    totals = [sum(run.values()) for run in per_run]
    for stage in stages:
        shares = [run[stage] / total for run, total in zip(per_run, totals)]
        millis = [run[stage] * ms_per_sample for run in per_run]
        rows.append([stage, f"{statistics.median(millis):.0f}", f"{min(millis):.0f}–{max(millis):.0f}",
                     f"{100 * statistics.median(shares):.1f}%"])
    rows.append(["total CPU", f"{statistics.median(totals) * ms_per_sample:.0f}",
                 f"{min(totals) * ms_per_sample:.0f}–{max(totals) * ms_per_sample:.0f}", "100%"])
    header = ["stage", "CPU ms (median)", "range", "share (median)"]
    print(f"medvol convert {args.case} → .{args.format}: {args.runs} runs, perf cpu-clock at {args.frequency} Hz")
    print(bench.text_table(rows, header))
    print()
    print(bench.markdown_table(rows, header))
    if args.show_other:
        print("\nmost frequent leaf functions of the \"other\" samples (all runs):")
        for leaf, count in OTHER_LEAVES.most_common(args.show_other):
            print(f"{count:6d}  {leaf[:140]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
