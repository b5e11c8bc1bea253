#!/usr/bin/env python3
"""Where medvol's time goes on one series, by difference between commands that do more and more of the work.

    .venv/bin/python benchmarks/phases.py --medvol .build/release/medvol [--case ct500] [--repeats 7]

Uses the data that benchmarks/run.py generated (run it, or `run.py --generate-only`, first) and the same
discipline: warm page cache, commands alternating round robin within each repeat, medians, peak RSS from a
small launcher, page faults and context switches from wait4. The steps:

    write floor     cat one.raw > copy.raw          (writing an output-sized file into the page cache)
    read floor      cat FILES > one.raw             (benchmark floor: read every input byte, write them once)
    start-up        medvol --help                   (dynamic loading of ~46 libraries, Swift runtime)
    scan            medvol series DIR               (start-up + header scan + stacks, no pixels)
    convert .npy    medvol convert DIR out.npy      (+ pixels into the volume + medvol's own .npy writer)
    convert .mhd    medvol convert DIR out.mhd      (+ ITK's MetaImage writer instead)
    convert .nii    medvol convert DIR out.nii      (+ ITK's NIfTI writer)

Differences between medians give the cost of each stage (see benchmarks/PROFILE.md).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--medvol", default=str(bench.REPO / ".build/release/medvol"))
    parser.add_argument("--work", default=str(bench.HERE / "work"))
    parser.add_argument("--case", default="ct500", help="a folder under WORK/data (default ct500)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    bench.TIME = bench.gnu_time()
    medvol = str(Path(args.medvol).resolve())
    work = Path(args.work).resolve()
    try:
        case = bench.existing_case(work, args.case)
    except FileNotFoundError as error:
        parser.error(str(error))
    scratch = work / "phases"
    bench.fresh(scratch)
    big = scratch / "one.raw"
    subprocess.run(["sh", "-c", 'cat "$@" > ' + str(big), "sh", *map(str, case.files)], check=True)

    steps = [
        ("write floor", lambda c, out: ["cp", str(big), str(out / "copy.raw")]),
        ("read floor", lambda c, out: ["sh", "-c", 'cat "$@" > "$0"', str(out / "one.raw"), *map(str, c.files)]),
        ("start-up", lambda c, out: [medvol, "--help"]),
        ("scan", lambda c, out: [medvol, "series", str(c.directory), "--quiet"]),
        ("convert .npy", lambda c, out: [medvol, "convert", str(c.directory), str(out / "out.npy"), "--overwrite", "--quiet"]),
        ("convert .mhd", lambda c, out: [medvol, "convert", str(c.directory), str(out / "out.mhd"), "--overwrite", "--quiet"]),
        ("convert .nii", lambda c, out: [medvol, "convert", str(c.directory), str(out / "out.nii"), "--overwrite", "--quiet"]),
    ]
    tools = [bench.Tool(name, command, lambda *a: "") for name, command in steps]
    # run.py's discipline: one untimed run each, then round robin; outputs under SCRATCH/<step>, fresh each run.
    ctx = types.SimpleNamespace(out=scratch, reference=None, note="")
    results = bench.measure_case(ctx, case, tools, args.repeats).results
    shutil.rmtree(scratch, ignore_errors=True)
    if any(result.broken for result in results.values()):
        return 1                                # measure_case logged why

    rows = []
    for name, r in results.items():
        rows.append([name, f"{r.median('wall'):.3f}", f"{r.median('user'):.3f}", f"{r.median('system'):.3f}",
                     f"{r.peak_rss_bytes / 2 ** 20:.0f}", f"{r.median('minor_faults'):.0f}",
                     f"{r.median('voluntary_switches'):.0f}", f"{r.median('involuntary_switches'):.0f}"])
    header = ["step", "wall s", "user s", "sys s", "peak RSS MiB", "minor faults", "vol. switches", "invol. switches"]
    print(f"{args.case}: {len(case.files)} files, {case.input_bytes / 1e6:.1f} MB; {args.repeats} repeats, medians")
    print(bench.text_table(rows, header))
    print()
    print(bench.markdown_table(rows, header))
    return 0


if __name__ == "__main__":
    sys.exit(main())
