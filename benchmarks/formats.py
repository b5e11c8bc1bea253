#!/usr/bin/env python3
"""medvol's NIfTI benchmark: DICOM → .nii.gz / .nii and .nii.gz → .npy, against dcm2niix, SimpleITK and nibabel.

    .venv/bin/python benchmarks/formats.py --medvol .build/release/medvol             # 5 repeats
    .venv/bin/python benchmarks/formats.py --medvol .build/release/medvol --repeats 3

Same method as benchmarks/run.py (whose machinery it uses): the 512×512×500 CT series that run.py generates
(cached under --work), page cache warmed, every tool run once untimed and checked, then R repeats with the
tools alternating in a rotating order; medians, per-repeat paired ratios, peak RSS of every run, and here
the size of every output file. Rows:

- ct500 → .nii.gz: medvol (default level), `dcm2niix -z y` (pigz, when installed), `dcm2niix -z i` (its
  internal zlib), SimpleITK `WriteImage(image, "x.nii.gz", useCompression=True)`.
- ct500 → .nii: `cat` (the floor), medvol, `dcm2niix -z n`.
- .nii.gz → .npy, for a medvol-written file and a dcm2niix-written one: medvol, nibabel (`np.asarray(
  img.dataobj)` then `np.save`), SimpleITK (`ReadImage`, `GetArrayFromImage`, `np.save`).

Writes the report to docs/benchmarks-formats.md (or --report) and prints the tables.
"""
from __future__ import annotations

import argparse
import datetime
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as core  # noqa: E402  (benchmarks/run.py: cases, timing, tables)

HERE = core.HERE
TOOLS = HERE / "tools"


def nifti_sum(path: Path) -> tuple[tuple, float]:
    import nibabel
    import numpy as np
    image = nibabel.load(str(path))
    data = np.asarray(image.dataobj)
    return data.shape, float(data.astype(np.float64).sum())


def output_file(out: Path, pattern: str) -> Path:
    found = sorted(out.glob(pattern))
    if len(found) != 1:
        raise core.CheckFailed(f"expected one {pattern} in {out}, found {[p.name for p in found]}")
    return found[0]


def nifti_check(pattern: str):
    """Checks a NIfTI output against medvol's (the first tool): same shape (x, y, z) and voxel sum, and
    records the file size in the note."""
    def check(ctx: core.Context, case: core.Case, out: Path) -> str:
        path = output_file(out, pattern)
        shape, total = nifti_sum(path)
        if ctx.reference is None:
            import nibabel
            import numpy as np
            data = np.asarray(nibabel.load(str(path)).dataobj)
            ctx.reference = data
            ctx.reference_sum = total
        elif tuple(shape) != tuple(ctx.reference.shape) or total != ctx.reference_sum:
            raise core.CheckFailed(f"shape {shape} sum {total}, medvol's {ctx.reference.shape} {ctx.reference_sum}")
        size = path.stat().st_size
        ctx.note = f"file {size / core.MB:.1f} MB"
        return f"{path.name}: shape {shape}, sum {total:.0f}, {size} bytes"
    return check


def npy_check(ctx: core.Context, case: core.Case, out: Path) -> str:
    import numpy as np
    array = np.load(out / "out.npy", mmap_mode="r")
    if ctx.reference is None:
        ctx.reference = np.array(array)
    elif array.shape != ctx.reference.shape or not np.array_equal(array, ctx.reference):
        raise core.CheckFailed(f"array {array.shape} differs from medvol's {ctx.reference.shape}")
    return f"out.npy {array.shape} {array.dtype}, identical to medvol's"


def cat_check(ctx: core.Context, case: core.Case, out: Path) -> str:
    return core.check_cat(ctx, case, out)


def tools_for(ctx: core.Context) -> dict[str, list[core.Tool]]:
    medvol, dcm2niix, python = ctx.medvol, ctx.dcm2niix, ctx.python
    pigz = shutil.which("pigz")

    def dcm2niix_tool(name, z, pattern):
        tool = core.Tool(name, lambda case, out: [dcm2niix, "-z", z, "-b", "n", "-w", "1", "-f", "out", "-o", str(out),
                                                  str(case.directory)], nifti_check(pattern))
        if not Path(dcm2niix).exists():
            tool.available, tool.missing_reason = False, f"dcm2niix not found ({dcm2niix})"
        return tool

    pigz_tool = dcm2niix_tool("dcm2niix -z y (pigz)", "y", "out*.nii.gz")
    if pigz is None:
        pigz_tool.available, pigz_tool.missing_reason = False, "pigz not installed (dcm2niix -z y would use zlib)"
    write_gz = [
        core.Tool("medvol", lambda case, out: [medvol, "convert", str(case.directory), str(out / "out.nii.gz"), "--quiet"],
                  nifti_check("out.nii.gz")),
        # The level a user picks for the smallest file of the fast levels (libdeflate 6): the size/speed
        # trade against dcm2niix -z i, whose internal zlib is 2–3 % tighter than zlib's level 6 on CT.
        core.Tool("medvol --level 6", lambda case, out: [medvol, "convert", str(case.directory), str(out / "out.nii.gz"),
                                                         "--level", "6", "--quiet"], nifti_check("out.nii.gz")),
        pigz_tool,
        dcm2niix_tool("dcm2niix -z i", "i", "out*.nii.gz"),
        core.Tool("SimpleITK", lambda case, out: [python, str(TOOLS / "sitk_convert.py"), str(case.directory),
                                                  str(out / "out.nii.gz"), "--compress"], nifti_check("out.nii.gz")),
    ]
    write_plain = [
        core.Tool("cat", core.cat_command, cat_check),
        core.Tool("medvol", lambda case, out: [medvol, "convert", str(case.directory), str(out / "out.nii"), "--quiet"],
                  nifti_check("out.nii")),
        dcm2niix_tool("dcm2niix -z n", "n", "out*.nii"),
    ]
    read_gz = [
        core.Tool("medvol", lambda case, out: [medvol, "convert", str(case.files[0]), str(out / "out.npy"), "--quiet"], npy_check),
        core.Tool("nibabel", lambda case, out: [python, str(TOOLS / "nifti_to_npy.py"), "nibabel", str(case.files[0]),
                                                str(out / "out.npy")], npy_check),
        core.Tool("SimpleITK", lambda case, out: [python, str(TOOLS / "nifti_to_npy.py"), "simpleitk", str(case.files[0]),
                                                  str(out / "out.npy")], npy_check),
    ]
    return {"write-gz": write_gz, "write-plain": write_plain, "read-gz": read_gz}


def nifti_inputs(ctx: core.Context, series: Path) -> dict[str, Path]:
    """.nii.gz files of the series as medvol and dcm2niix write them (made once, cached)."""
    folder = ctx.data / "nifti-inputs"
    folder.mkdir(parents=True, exist_ok=True)
    made = {"medvol": folder / "medvol.nii.gz", "dcm2niix": folder / "dcm2niix.nii.gz"}
    if not made["medvol"].exists():
        subprocess.run([ctx.medvol, "convert", str(series), str(made["medvol"]), "--quiet"], check=True)
    if not made["dcm2niix"].exists():
        scratch = folder / "d2n"
        core.fresh(scratch)
        subprocess.run([ctx.dcm2niix, "-z", "y", "-b", "n", "-f", "out", "-o", str(scratch), str(series)],
                       check=True, capture_output=True)
        shutil.move(str(output_file(scratch, "out*.nii.gz")), made["dcm2niix"])
        shutil.rmtree(scratch)
    return made


MEMORY_HEADER = ["path", "wall s", "peak RSS MB", "peak ÷ volume", "(peak − start-up) ÷ volume"]
MEMORY_FORMATS = [("mhd", []), ("mhd", ["--compress"]), ("mha", []), ("mha", ["--compress"]), ("nii", []), ("nii.gz", []),
                  ("hdr", []), ("nrrd", []),
                  ("nrrd", ["--compress"]), ("nhdr", []), ("nhdr", ["--compress"]), ("npy", []), ("npz", []),
                  ("npz", ["--compress"])]


FOUR_D_SIZE = (256, 256, 40, 20)  # x, y, z, t: 800 DICOM files, 105 MB of int16


def four_d_series(ctx: core.Context) -> Path:
    """A 4D series (FOUR_D_SIZE, int16, 40 positions × 20 volumes) written by medvol from a NumPy array
    (made once, cached): the 4D rows of the memory table."""
    import numpy as np
    directory = ctx.data / "series4d"
    stamp = ctx.data / "series4d.done"
    if stamp.exists() and stamp.read_text() == repr(FOUR_D_SIZE):
        return directory
    nx, ny, nz, nt = FOUR_D_SIZE
    t, z, y, x = np.ogrid[:nt, :nz, :ny, :nx]
    values = ((x * 3 + y * 5 + z * 7 + t * 11) % 2000 - 1000).astype(np.int16)
    scratch = ctx.data / "series4d-source"
    core.fresh(scratch)
    np.save(scratch / "v.npy", values)
    shutil.rmtree(directory, ignore_errors=True)
    subprocess.run([ctx.medvol, "convert", str(scratch / "v.npy"), str(directory), "--format", "dicom", "--quiet"],
                   check=True, capture_output=True)
    shutil.rmtree(scratch)
    stamp.write_text(repr(FOUR_D_SIZE))
    return directory


def memory_table(ctx: core.Context, series: Path, volume: int, prefix: str = "") -> list[list[str]]:
    """Peak RSS of DICOM → every format and of reading each back to .npy, against the volume's bytes."""
    startup = core.baseline_rss(ctx) * 1024   # `medvol --help`: runtime and libraries, before any voxel
    scratch = ctx.out / "memory"
    rows = []
    for extension, flags in MEMORY_FORMATS:
        core.fresh(scratch)
        label = f".{extension}" + (" --compress" if flags else "")
        target = scratch / f"v.{extension}"
        write = core.Tool("medvol", lambda case, out, t=target, f=flags: [ctx.medvol, "convert", str(series), str(t), *f, "--quiet"],
                          lambda *a: "")
        case = core.Case(label, "convert", label, series)
        run = core.time_run(write, case, scratch)
        rows.append([f"{prefix}DICOM → {label}", f"{run.wall:.2f}", f"{run.max_rss_kib * 1024 / core.MB:.0f}",
                     f"{run.max_rss_kib * 1024 / volume:.2f}×", f"{(run.max_rss_kib * 1024 - startup) / volume:.2f}×"])
        back = core.Tool("medvol", lambda case, out, t=target: [ctx.medvol, "convert", str(t), str(scratch / "back.npy"), "--quiet"],
                         lambda *a: "")
        run = core.time_run(back, case, scratch)
        rows.append([f"{prefix}{label} → .npy", f"{run.wall:.2f}", f"{run.max_rss_kib * 1024 / core.MB:.0f}",
                     f"{run.max_rss_kib * 1024 / volume:.2f}×", f"{(run.max_rss_kib * 1024 - startup) / volume:.2f}×"])
    core.fresh(scratch)
    return rows


def rows_with_sizes(result: core.CaseResult) -> list[list[str]]:
    rows = core.case_rows(result)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--medvol", default=str(core.REPO / ".build/release/medvol"))
    parser.add_argument("--dcm2niix")
    parser.add_argument("--work", default=str(HERE / "work"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--report", default=str(core.REPO / "docs/benchmarks-formats.md"))
    args = parser.parse_args()
    args.quick, args.small_files, args.regenerate = False, None, False
    core.TIME = core.gnu_time()
    ctx = core.Context(args)
    ctx.data.mkdir(parents=True, exist_ok=True)
    name = f"ct{args.slices}"
    series = core.phantom_series(ctx, name, f"512,512,{args.slices}")
    inputs = nifti_inputs(ctx, series)
    tools = tools_for(ctx)

    cases = [
        (core.Case(f"{name} → .nii.gz", "convert", f"CT 512×512×{args.slices} → .nii.gz", series, slices=args.slices), tools["write-gz"]),
        (core.Case(f"{name} → .nii", "convert", f"CT 512×512×{args.slices} → .nii", series, slices=args.slices), tools["write-plain"]),
    ]
    for writer, path in inputs.items():
        description = f"{writer}-written .nii.gz ({path.stat().st_size / core.MB:.0f} MB) → .npy"
        if writer == "dcm2niix":
            # dcm2niix keeps the stored values and writes scl_inter −1024: the values are float32, as
            # SimpleITK's GetArrayFromImage gives them, so the output volume is twice the int16 one.
            description += (f"; dcm2niix stores the raw values with scl_inter −1024, so medvol and SimpleITK give float32 "
                            f"({512 * 512 * args.slices * 4 / core.MB:.0f} MB, the volume peak RSS is measured against) "
                            "and nibabel float64")
        case = core.Case(f"{writer} .nii.gz → .npy", "convert", description, path.parent)
        cases.append((case, tools["read-gz"]))
    for case, _ in cases:
        case.files = [inputs[case.name.split()[0]]] if case.name.endswith(".npy") else core.dicom_files(case.directory)

    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load_start = os.getloadavg()
    results = []
    for case, case_tools in cases:
        result = core.measure_case(ctx, case, case_tools, args.repeats)
        results.append(result)
        print(f"\n{case.name}: {case.description}")
        print(core.text_table(rows_with_sizes(result), core.HEADER))
    load_end = os.getloadavg()

    memory_rows = memory_table(ctx, series, 512 * 512 * args.slices * 2)
    memory_rows += memory_table(ctx, four_d_series(ctx), 2 * FOUR_D_SIZE[0] * FOUR_D_SIZE[1] * FOUR_D_SIZE[2] * FOUR_D_SIZE[3], "4D ")
    print("\nPeak memory of every medvol path (one run each)")
    print(core.text_table(memory_rows, MEMORY_HEADER))

    lines = [
        "# NIfTI benchmark (benchmarks/formats.py)", "",
        f"Run {started} on {os.cpu_count()} cores, load average {load_start[0]:.2f} → {load_end[0]:.2f}; "
        f"{args.repeats} timed repeats per case, tools alternating in a rotating order; medians; ratios are "
        "medians of per-repeat ratios. `wall ÷ medvol` above 1 means slower than medvol. Peak RSS is each "
        "tool's own (ru_maxrss via a small launcher). The note gives each output's size.", "",
        f"medvol: `{ctx.medvol}`; dcm2niix: `{core.output_of([ctx.dcm2niix, '--version']).splitlines()[0] if Path(ctx.dcm2niix).exists() else 'missing'}`; "
        f"pigz: `{shutil.which('pigz') or 'not installed'}`.", "",
    ]
    for result in results:
        lines += [f"## {result.case.name}", "", result.case.description + ".", "",
                  core.markdown_table(rows_with_sizes(result), core.HEADER), ""]
    lines += ["## Peak memory of every medvol path", "",
              f"One run each; the volume is 512×512×{args.slices} int16 ({512 * 512 * args.slices * 2 / core.MB:.0f} MB), "
              f"for the 4D rows {'×'.join(map(str, FOUR_D_SIZE))} int16 ({2 * math.prod(FOUR_D_SIZE) / core.MB:.0f} MB, "
              f"{FOUR_D_SIZE[2] * FOUR_D_SIZE[3]} files). "
              "DICOM → format writes the format from the series; format → .npy converts that file back "
              "(file to file, a run of slices at a time, when medvol's reader reads it).", "",
              core.markdown_table(memory_rows, MEMORY_HEADER), ""]
    Path(args.report).write_text("\n".join(lines))
    print(f"\nreport: {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
