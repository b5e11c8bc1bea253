#!/usr/bin/env python3
"""medvol's benchmark: DICOM series → volume file, against `cat`, dcm2niix, SimpleITK and pydicom.

    .venv/bin/python benchmarks/run.py --medvol .build/release/medvol            # full run (make benchmark)
    .venv/bin/python benchmarks/run.py --medvol .build/release/medvol --quick    # 120 and 500 slices, 3 repeats
    .venv/bin/python benchmarks/run.py --medvol … --only ct500 --only ct500-rle  # some cases only

What it does (see README.md, "Benchmarks"):

1. Generates test data once and caches it under --work (default benchmarks/work, git-ignored): CT series of
   512×512×{120, 500, 1500} written by `medvol phantom --unsigned-intercept --shuffle-names`, the 500-slice
   series transcoded to RLE, JPEG-LS and JPEG 2000 by `gdcmconv` (one process per file, on every core), and
   a folder of many small series (64×64 slices) for `medvol series`.
2. For every case, warms the page cache (reads every input file once), runs every tool once untimed and
   checks its output (same shape; medvol, SimpleITK and pydicom give identical voxels; dcm2niix the same slice
   sums), then times R repeats. The tools alternate within a repeat, in an order that rotates from one repeat
   to the next (round robin), so that load from other processes falls on all of them alike. Outputs are
   deleted (untimed) before and after each run, so every run writes a new file.
3. Measures, for each run of a tool (a child process): wall time, CPU time (user + sys, from `wait4`) and
   peak RSS (ru_maxrss). Reports medians; ratios are medians of the per-repeat ratios (each repeat's tool
   time ÷ the same repeat's floor or medvol time), which cancels slow drifts of machine load.
4. Checks the SPEC's performance targets, prints a table, writes docs/benchmarks.md (only for runs of every
   case; partial runs write their report under --work) and the raw numbers as JSON under --work.

Nothing here asserts on timings in tests; this is a measuring tool.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

TIME: Optional[str] = None   # GNU time, set in main()
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TOOLS_DIR = HERE / "tools"
MB = 1e6  # throughput and sizes in the report are decimal megabytes

# --------------------------------------------------------------------------------------------------------
# Cases and tools
# --------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    name: str
    kind: str                 # "convert" or "listing"
    description: str
    directory: Path
    slices: int = 0           # per series, for convert cases
    codec: str = "uncompressed"
    series_count: int = 1
    files: list[Path] = dataclasses.field(default_factory=list)

    @property
    def input_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.files)


@dataclasses.dataclass
class Tool:
    name: str
    # (case, output folder) -> argv
    command: Callable[[Case, Path], list[str]]
    # Fills in the check; raises CheckFailed
    check: Callable[["Context", Case, Path], str]
    available: bool = True
    missing_reason: str = ""


class CheckFailed(Exception):
    pass


@dataclasses.dataclass
class Run:
    wall: float
    cpu: float
    user: float
    system: float
    max_rss_kib: int
    minor_faults: int = 0
    major_faults: int = 0
    voluntary_switches: int = 0
    involuntary_switches: int = 0


@dataclasses.dataclass
class ToolResult:
    tool: str
    runs: list[Run] = dataclasses.field(default_factory=list)
    check: str = ""
    note: str = ""
    broken: str = ""           # why the tool's output was wrong or it failed (then it is not timed)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)

    @property
    def peak_rss_bytes(self) -> int:
        return max(run.max_rss_kib for run in self.runs) * 1024


@dataclasses.dataclass
class CaseResult:
    case: Case
    results: dict[str, ToolResult]
    order: list[list[str]]
    output_bytes: int = 0      # bytes of the output volume (voxels only)
    shape: tuple = ()
    dtype: str = ""


class Context:
    """Everything the tools need: paths, versions, the reference array of the case being checked."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.medvol = str(Path(args.medvol).resolve())
        self.python = sys.executable
        self.dcm2niix = args.dcm2niix or shutil.which("dcm2niix") or str(Path(sys.executable).parent / "dcm2niix")
        self.work = Path(args.work).resolve()
        self.data = self.work / "data"
        self.out = self.work / "out"
        self.reference = None        # numpy array (nz, ny, nx) from medvol's output, during the checks
        self.reference_geometry = None
        self.note = ""               # set by a check: something worth a note in the table


# --- tool commands ---------------------------------------------------------------------------------------
#
# cat:       `cat FILES > one.raw`: reads every input byte and writes them out once — the floor.
# medvol:    `medvol convert SERIES out.mhd --overwrite --quiet`.
# dcm2niix:  `dcm2niix -z n -b n -w 1 -f out -o OUTDIR SERIES`: uncompressed NIfTI (.mhd is uncompressed too),
#            no BIDS sidecar (medvol writes none for .mhd), overwrite rather than invent new names. Everything
#            else at its defaults: no -a y (medvol gets no hint that a folder holds one series either).
# SimpleITK: tools/sitk_convert.py SERIES out.mhd (GetGDCMSeriesFileNames + ImageSeriesReader + WriteImage).
# pydicom:   tools/pydicom_convert.py SERIES out.npy (dcmread all, sort by position, stack, rescale, np.save).
#
# Listing (header scan of many small files):
# medvol:    `medvol series ARCHIVE --quiet` (stdout to /dev/null).
# dcm2niix:  `dcm2niix -n -1 -o OUTDIR ARCHIVE`: "-n: only convert this series CRC number … provide a negative
#            number for listing of series numbers in input folder". It parses every header, sorts the images
#            into series and prints one line per series, writing no files — what `medvol series` does. The other
#            candidates do less or more: `-q y` only searches for DICOM files (no series are formed);
#            `-b o` forms series but also writes a JSON sidecar per series; `-s y` converts one file; `-u`
#            checks whether converted outputs are up to date.


def cat_command(case: Case, out: Path) -> list[str]:
    return ["cat", *map(str, case.files)]     # stdout → out/one.raw, see time_run


def medvol_convert_command(ctx: Context) -> Callable[[Case, Path], list[str]]:
    return lambda case, out: [ctx.medvol, "convert", str(case.directory), str(out / "out.mhd"), "--overwrite", "--quiet"]


def dcm2niix_convert_command(ctx: Context) -> Callable[[Case, Path], list[str]]:
    return lambda case, out: [ctx.dcm2niix, "-z", "n", "-b", "n", "-w", "1", "-f", "out", "-o", str(out), str(case.directory)]


def sitk_command(ctx: Context) -> Callable[[Case, Path], list[str]]:
    return lambda case, out: [ctx.python, str(TOOLS_DIR / "sitk_convert.py"), str(case.directory), str(out / "out.mhd")]


def pydicom_command(ctx: Context) -> Callable[[Case, Path], list[str]]:
    return lambda case, out: [ctx.python, str(TOOLS_DIR / "pydicom_convert.py"), str(case.directory), str(out / "out.npy")]


def medvol_series_command(ctx: Context) -> Callable[[Case, Path], list[str]]:
    return lambda case, out: [ctx.medvol, "series", str(case.directory), "--quiet"]


def dcm2niix_list_command(ctx: Context) -> Callable[[Case, Path], list[str]]:
    return lambda case, out: [ctx.dcm2niix, "-n", "-1", "-o", str(out), str(case.directory)]


# --- output checks ---------------------------------------------------------------------------------------


def check_cat(ctx: Context, case: Case, out: Path) -> str:
    size = (out / "one.raw").stat().st_size
    if size != case.input_bytes:
        raise CheckFailed(f"one.raw has {size} bytes, the input {case.input_bytes}")
    return f"{size} bytes = input"


def _geometry(image) -> tuple:
    return (image.GetSize(), image.GetSpacing(), image.GetOrigin(), image.GetDirection())


def _same_geometry(a: tuple, b: tuple) -> bool:
    import numpy as np
    return a[0] == b[0] and all(np.allclose(x, y, atol=1e-4) for x, y in zip(a[1:], b[1:]))


def check_medvol(ctx: Context, case: Case, out: Path) -> str:
    import SimpleITK as sitk
    image = sitk.ReadImage(str(out / "out.mhd"))
    array = sitk.GetArrayFromImage(image)
    expected = (case.slices, 512, 512)
    if array.shape != expected:
        raise CheckFailed(f"shape {array.shape}, expected {expected}")
    ctx.reference = array
    ctx.reference_geometry = _geometry(image)
    return f"{array.shape} {array.dtype} [{array.min()}, {array.max()}]"


def _reference(ctx: Context):
    if ctx.reference is None:
        raise CheckFailed("no medvol reference to compare with (medvol's own run failed or was skipped)")
    return ctx.reference


def check_sitk(ctx: Context, case: Case, out: Path) -> str:
    import numpy as np
    import SimpleITK as sitk
    image = sitk.ReadImage(str(out / "out.mhd"))
    array = sitk.GetArrayFromImage(image)
    reference = _reference(ctx)
    if array.shape != reference.shape:
        raise CheckFailed(f"shape {array.shape}, medvol {reference.shape}")
    if not np.array_equal(array, reference):
        raise CheckFailed(f"{int(np.count_nonzero(array != reference))} voxels differ from medvol's")
    if not _same_geometry(_geometry(image), ctx.reference_geometry):
        raise CheckFailed(f"geometry {_geometry(image)} differs from medvol's {ctx.reference_geometry}")
    if array.dtype != reference.dtype:
        ctx.note = f"wrote {array.dtype} (medvol {reference.dtype}): {array.nbytes / MB:.0f} MB instead of {reference.nbytes / MB:.0f}"
        return f"identical values and geometry to medvol, but as {array.dtype}"
    return "identical voxels and geometry to medvol"


def check_pydicom(ctx: Context, case: Case, out: Path) -> str:
    import numpy as np
    array = np.load(out / "out.npy", mmap_mode="r")
    reference = _reference(ctx)
    if array.shape != reference.shape:
        raise CheckFailed(f"shape {array.shape}, medvol {reference.shape}")
    if not np.array_equal(array, reference):
        raise CheckFailed("voxels differ from medvol's")
    if array.dtype != reference.dtype:
        ctx.note = f"wrote {array.dtype} (medvol {reference.dtype})"
    return f"identical values to medvol ({array.dtype})"


def check_dcm2niix(ctx: Context, case: Case, out: Path) -> str:
    import nibabel
    import numpy as np
    outputs = sorted(out.glob("*.nii"))
    if len(outputs) != 1:
        raise CheckFailed(f"expected one .nii, found {[p.name for p in out.iterdir()]}")
    image = nibabel.load(str(outputs[0]))
    reference = _reference(ctx)
    nz, ny, nx = reference.shape
    if image.shape != (nx, ny, nz):
        raise CheckFailed(f"NIfTI shape {image.shape}, medvol (x, y, z) {(nx, ny, nz)}")
    raw = np.asanyarray(image.dataobj.get_unscaled())
    slope = image.dataobj.slope if np.isfinite(image.dataobj.slope) and image.dataobj.slope != 0 else 1.0
    inter = image.dataobj.inter if np.isfinite(image.dataobj.inter) else 0.0
    # dcm2niix flips rows (and maybe the slice order) into its RAS-like layout; slice sums do not care.
    sums = raw.sum(axis=(0, 1), dtype=np.int64) * slope + inter * nx * ny
    expected = reference.sum(axis=(1, 2), dtype=np.int64).astype(np.float64)
    if not (np.allclose(sums, expected, rtol=0, atol=0.5) or np.allclose(sums[::-1], expected, rtol=0, atol=0.5)):
        raise CheckFailed("slice sums differ from medvol's")
    return "same shape and slice sums as medvol"


def check_medvol_series(ctx: Context, case: Case, out: Path) -> str:
    listing = subprocess.run([ctx.medvol, "series", str(case.directory), "--json", "--quiet"],
                             capture_output=True, text=True, check=True)
    stacks = json.loads(listing.stdout)["stacks"]
    images = sum(stack["imageCount"] for stack in stacks)
    if len(stacks) != case.series_count or images != len(case.files):
        raise CheckFailed(f"{len(stacks)} stacks of {images} images, expected {case.series_count} of {len(case.files)}")
    return f"{len(stacks)} stacks, {images} images"


def check_dcm2niix_list(ctx: Context, case: Case, out: Path) -> str:
    stdout = (out / "stdout.txt").read_text(errors="replace")
    # One line per series: "\t<CRC>\t<output name it would use>", then a line with its first file.
    lines = [line for line in stdout.splitlines() if re.match(r"^\t\d+\t", line)]
    if len(lines) != case.series_count:
        raise CheckFailed(f"{len(lines)} series listed, expected {case.series_count}:\n{stdout[-2000:]}")
    written = [p.name for p in out.iterdir() if p.name != "stdout.txt"]
    if written:
        raise CheckFailed(f"listing wrote files: {written[:5]}")
    return f"{len(lines)} series listed, no files written"


def build_tools(ctx: Context) -> dict[str, list[Tool]]:
    floor = Tool("cat", cat_command, check_cat)
    medvol = Tool("medvol", medvol_convert_command(ctx), check_medvol)
    dcm2niix = Tool("dcm2niix", dcm2niix_convert_command(ctx), check_dcm2niix)
    sitk = Tool("SimpleITK", sitk_command(ctx), check_sitk)
    pyd = Tool("pydicom", pydicom_command(ctx), check_pydicom)
    listing_floor = Tool("cat", cat_command, check_cat)
    medvol_series = Tool("medvol", medvol_series_command(ctx), check_medvol_series)
    dcm2niix_list = Tool("dcm2niix", dcm2niix_list_command(ctx), check_dcm2niix_list)
    if not Path(ctx.dcm2niix).exists():
        for tool in (dcm2niix, dcm2niix_list):
            tool.available, tool.missing_reason = False, f"dcm2niix not found ({ctx.dcm2niix})"
    for module, tools in (("SimpleITK", [sitk]), ("pydicom", [pyd])):
        try:
            __import__(module)
        except ImportError:
            for tool in tools:
                tool.available, tool.missing_reason = False, f"Python module {module} missing"
    return {"convert": [floor, medvol, dcm2niix, sitk, pyd], "listing": [listing_floor, medvol_series, dcm2niix_list]}


# --------------------------------------------------------------------------------------------------------
# Test data
# --------------------------------------------------------------------------------------------------------

CODECS = {"rle": ("--rle", "1.2.840.10008.1.2.5", "RLE Lossless"),
          "jpegls": ("--jpegls", "1.2.840.10008.1.2.4.80", "JPEG-LS lossless"),
          "j2k": ("--j2k", "1.2.840.10008.1.2.4.90", "JPEG 2000 lossless"),
          # GDCM 3.0 has no HTJ2K encoder: OpenJPH's ojph_compress through tools/htj2k_series.py.
          "htj2k": (None, "1.2.840.10008.1.2.4.201", "HTJ2K lossless")}


def dicom_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def _stamp(ctx: Context, name: str) -> Path:
    return ctx.data / f"{name}.done"


def _cached(ctx: Context, name: str, recipe: dict) -> bool:
    stamp = _stamp(ctx, name)
    return (not ctx.args.regenerate and stamp.exists() and (ctx.data / name).is_dir()
            and json.loads(stamp.read_text()) == recipe)


def _finish(ctx: Context, name: str, recipe: dict) -> None:
    _stamp(ctx, name).write_text(json.dumps(recipe))


def phantom_series(ctx: Context, name: str, size: str, quiet: bool = False) -> Path:
    directory = ctx.data / name
    command = [ctx.medvol, "phantom", str(directory), "--size", size, "--unsigned-intercept", "--shuffle-names",
               "--overwrite", "--quiet"]
    recipe = {"command": command[1:]}
    if _cached(ctx, name, recipe):
        return directory
    if not quiet:
        log(f"generating {name}: {shlex.join(command)}")
    _stamp(ctx, name).unlink(missing_ok=True)
    subprocess.run(command, check=True)
    _finish(ctx, name, recipe)
    return directory


def compressed_series(ctx: Context, source: Path, codec: str) -> Path:
    flag, uid, _ = CODECS[codec]
    name = f"{source.name}-{codec}"
    directory = ctx.data / name
    tool = "gdcmconv" if flag else "ojph_compress"
    executable = shutil.which(tool)
    if not executable:
        raise SystemExit(f"{tool} not found: apt-get install {'libgdcm-tools' if flag else 'openjph-tools'}")
    command = ["gdcmconv", flag, "IN", "OUT"] if flag else ["python", "benchmarks/tools/htj2k_series.py", "IN", "OUT"]
    recipe = {"source": source.name, "command": command, "source_stamp": _stamp(ctx, source.name).read_text()}
    if _cached(ctx, name, recipe):
        return directory
    log(f"generating {name}: {shlex.join(command)} on every file of {source.name}, {os.cpu_count()} at a time")
    _stamp(ctx, name).unlink(missing_ok=True)
    staging = ctx.data / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    inputs = dicom_files(source)
    if not flag:
        subprocess.run([ctx.python, str(TOOLS_DIR / "htj2k_series.py"), str(source), str(staging)], check=True)
        inputs = []
    gdcmconv = executable

    def convert(path: Path) -> None:
        subprocess.run([gdcmconv, flag, str(path), str(staging / path.name)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    # One gdcmconv process per file, on every core (the threads only wait for the processes).
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(convert, inputs))
    import pydicom
    written = dicom_files(staging)
    if len(written) != len(dicom_files(source)):
        raise SystemExit(f"{shlex.join(command)} wrote {len(written)} files for {len(dicom_files(source))}")
    meta = pydicom.dcmread(str(written[0]), stop_before_pixels=True).file_meta
    if meta.TransferSyntaxUID != uid:
        raise SystemExit(f"{shlex.join(command)} wrote transfer syntax {meta.TransferSyntaxUID}, expected {uid}")
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    _finish(ctx, name, recipe)
    return directory


def small_archive(ctx: Context, file_count: int) -> tuple[Path, int]:
    per_series = 100
    series = file_count // per_series
    name = f"small{file_count}"
    directory = ctx.data / name
    recipe = {"series": series, "per_series": per_series, "size": f"64,64,{per_series}",
              "command": ["phantom", "DIR", "--size", f"64,64,{per_series}", "--unsigned-intercept", "--shuffle-names"]}
    if _cached(ctx, name, recipe):
        return directory, series
    log(f"generating {name}: {series} series of {per_series} 64×64 slices (medvol phantom)")
    _stamp(ctx, name).unlink(missing_ok=True)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)

    def make(index: int) -> None:
        subprocess.run([ctx.medvol, "phantom", str(directory / f"series{index:04d}"), "--size", f"64,64,{per_series}",
                        "--unsigned-intercept", "--shuffle-names", "--quiet"], check=True)

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(make, range(series)))
    _finish(ctx, name, recipe)
    return directory, series


def prepare_cases(ctx: Context, wanted: Optional[set[str]]) -> list[Case]:
    args = ctx.args
    sizes = [120, 500] if args.quick else [120, 500, 1500]
    small_count = args.small_files or (2000 if args.quick else 10000)
    names = [f"ct{n}" for n in sizes] + [f"ct500-{codec}" for codec in CODECS] + [f"series{small_count}"]
    if wanted:
        unknown = wanted - set(names)
        if unknown:
            raise SystemExit(f"--only: unknown case(s) {sorted(unknown)}; cases: {', '.join(names)}")
    want = lambda name: not wanted or name in wanted
    ctx.data.mkdir(parents=True, exist_ok=True)
    cases = []
    for n in sizes:
        if want(f"ct{n}") or (n == 500 and any(want(f"ct500-{codec}") for codec in CODECS)):
            directory = phantom_series(ctx, f"ct{n}", f"512,512,{n}")
            if want(f"ct{n}"):
                cases.append(Case(f"ct{n}", "convert", f"CT 512×512×{n}, uncompressed", directory, slices=n))
    for codec, (_, _, label) in CODECS.items():
        name = f"ct500-{codec}"
        if want(name):
            directory = compressed_series(ctx, ctx.data / "ct500", codec)
            cases.append(Case(name, "convert", f"CT 512×512×500, {label}", directory, slices=500, codec=codec))
    if want(f"series{small_count}"):
        directory, series = small_archive(ctx, small_count)
        cases.append(Case(f"series{small_count}", "listing",
                          f"listing {small_count} files: {series} series of 100 slices 64×64", directory,
                          series_count=series))
    for case in cases:
        case.files = dicom_files(case.directory)
    return cases


def existing_case(work: Path, name: str) -> Case:
    """The series WORK/data/NAME that an earlier run generated, as a convert case (for phases.py and
    perf_breakdown.py); FileNotFoundError if it is missing."""
    directory = Path(work).resolve() / "data" / name
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} missing: run benchmarks/run.py --generate-only first")
    case = Case(name, "convert", "", directory)
    case.files = dicom_files(directory)
    return case


# --------------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fresh(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


def gnu_time() -> Optional[str]:
    """GNU time, if installed: it measures the peak RSS of a grandchild forked from a small process."""
    path = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    if path and "GNU" in output_of([path, "--version"]):
        return path
    return None


# Peak RSS: Linux carries a process's ru_maxrss across exec (the old memory map's high-water mark is kept),
# so every direct child of this big Python process would report at least this process's RSS. A small
# launcher in between forks the tool from a small process: GNU time when installed (%M is the tool's own
# ru_maxrss), else a Python launcher started with -S -E (a few MB of its pages count in the child's peak RSS;
# the launcher measures the tool's wall and CPU time itself, so that its own start-up is not counted).
LAUNCHER = r"""
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, u = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    f.write(f"{u.ru_maxrss} {wall} {u.ru_utime} {u.ru_stime} {u.ru_minflt} {u.ru_majflt} {u.ru_nvcsw} {u.ru_nivcsw}")
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def time_run(tool: Tool, case: Case, out: Path, keep_stdout: bool = False) -> Run:
    """Runs the tool once as a child process; wall from just before the spawn to the reaping of the child;
    CPU (user + sys) from wait4; peak RSS from the launcher (see LAUNCHER)."""
    argv = tool.command(case, out)
    stdout_path = out / ("one.raw" if tool.name == "cat" else "stdout.txt")
    stderr_path = out.parent / f"{out.name}.stderr"
    rss_path = out.parent / f"{out.name}.rss"
    rss_path.unlink(missing_ok=True)
    if TIME:
        launched = [TIME, "-f", "%M", "-o", str(rss_path), "--", *argv]
    else:
        launched = [sys.executable, "-S", "-E", "-c", LAUNCHER, str(rss_path), *argv]
    with open(stderr_path, "wb") as stderr:
        start = time.perf_counter()
        if tool.name == "cat" or keep_stdout:
            with open(stdout_path, "wb") as stdout:
                child = subprocess.Popen(launched, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
        else:
            child = subprocess.Popen(launched, stdout=subprocess.DEVNULL, stderr=stderr, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        message = stderr_path.read_text(errors="replace")[-2000:]
        raise CheckFailed(f"exit status {child.returncode}: {shlex.join(argv)}\n{message}")
    try:
        report = rss_path.read_text().split()
        max_rss_kib = int(report[-1] if TIME else report[0])
    except (OSError, ValueError, IndexError):
        raise CheckFailed(f"no peak RSS reported for {shlex.join(argv)}")
    if not TIME:
        # The Python launcher's own start-up must not count: take the tool's numbers as the launcher saw them.
        wall, user, system = float(report[1]), float(report[2]), float(report[3])
        minor, major, voluntary, involuntary = map(int, report[4:8])
        return Run(wall=wall, cpu=user + system, user=user, system=system, max_rss_kib=max_rss_kib,
                   minor_faults=minor, major_faults=major, voluntary_switches=voluntary, involuntary_switches=involuntary)
    return Run(wall=wall, cpu=usage.ru_utime + usage.ru_stime, user=usage.ru_utime, system=usage.ru_stime,
               max_rss_kib=max_rss_kib, minor_faults=usage.ru_minflt, major_faults=usage.ru_majflt,
               voluntary_switches=usage.ru_nvcsw, involuntary_switches=usage.ru_nivcsw)


def baseline_rss(ctx: Context) -> int:
    """Peak RSS in KiB of `medvol --help`: what the process costs before it touches any data."""
    scratch = ctx.out / "baseline"
    fresh(scratch)
    tool = Tool("medvol-help", lambda case, out: [ctx.medvol, "--help"], lambda *a: "")
    run = time_run(tool, Case("", "", "", scratch), scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    return run.max_rss_kib


def warm_page_cache(case: Case) -> None:
    for path in case.files:
        with open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass


def measure_case(ctx: Context, case: Case, tools: list[Tool], repeats: int) -> CaseResult:
    results = {tool.name: ToolResult(tool.name) for tool in tools}
    log(f"\n== {case.name}: {case.description}; {len(case.files)} files, {case.input_bytes / MB:.1f} MB")
    warm_page_cache(case)
    ctx.reference = None
    # Untimed warm-up run of every tool, checked once (medvol first: it is the reference).
    for tool in tools:
        result = results[tool.name]
        if not tool.available:
            result.broken = tool.missing_reason
            continue
        out = ctx.out / tool.name
        fresh(out)
        try:
            warm = time_run(tool, case, out, keep_stdout=(case.kind == "listing"))
            ctx.note = ""
            result.check = tool.check(ctx, case, out)
            result.note = ctx.note
            log(f"   check {tool.name:<10} ok  ({warm.wall:6.3f} s warm-up): {result.check}")
        except (CheckFailed, subprocess.CalledProcessError, OSError, ValueError) as error:
            result.broken = str(error).strip()
            log(f"   check {tool.name:<10} FAILED, not timed: {result.broken}")
        shutil.rmtree(out, ignore_errors=True)
    case_result = CaseResult(case, results, [])
    if ctx.reference is not None:
        case_result.output_bytes = ctx.reference.nbytes
        case_result.shape = tuple(ctx.reference.shape)
        case_result.dtype = str(ctx.reference.dtype)
    ctx.reference = None

    live = [tool for tool in tools if not results[tool.name].broken]
    for repeat in range(repeats):
        shift = repeat % len(live) if live else 0
        order = live[shift:] + live[:shift]
        case_result.order.append([tool.name for tool in order])
        line = []
        for tool in order:
            out = ctx.out / tool.name
            fresh(out)
            try:
                run = time_run(tool, case, out)
            except CheckFailed as error:
                results[tool.name].broken = f"failed in repeat {repeat + 1}: {error}"
                log(f"   {tool.name} FAILED in repeat {repeat + 1}: {error}")
                shutil.rmtree(out, ignore_errors=True)
                continue
            shutil.rmtree(out, ignore_errors=True)
            results[tool.name].runs.append(run)
            line.append(f"{tool.name} {run.wall:.3f}")
        log(f"   repeat {repeat + 1}/{repeats}: " + ", ".join(line))
    # A tool that failed in some repeat has unpaired repeats: drop its numbers.
    for result in results.values():
        if result.broken:
            result.runs = []
    return case_result


# --------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------


def paired_ratio(a: Optional[ToolResult], b: Optional[ToolResult], attribute: str = "wall") -> Optional[float]:
    """Median over repeats of a's time ÷ b's time in the same repeat (runs are stored one per repeat)."""
    if a is None or b is None or not a.runs or not b.runs or len(a.runs) != len(b.runs):
        return None
    return statistics.median(getattr(x, attribute) / getattr(y, attribute) for x, y in zip(a.runs, b.runs))


def fmt(value: Optional[float], digits: int = 2, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def case_rows(case_result: CaseResult) -> list[list[str]]:
    results = case_result.results
    floor, medvol = results.get("cat"), results.get("medvol")
    rows = []
    for name, result in results.items():
        if result.broken or not result.runs:
            rows.append([name, "–", "–", "–", "–", "–", "–", "–", result.broken.splitlines()[0][:90] if result.broken else "not run"])
            continue
        wall = result.median("wall")
        rows.append([
            name,
            f"{wall:.3f}",
            f"{result.median('cpu'):.3f}",
            f"{result.peak_rss_bytes / MB:.0f}",
            f"{case_result.case.input_bytes / MB / wall:.0f}",
            fmt(paired_ratio(result, floor), 2, "×"),
            fmt(paired_ratio(result, medvol), 2, "×"),
            fmt(paired_ratio(result, medvol, "cpu"), 2, "×"),
            result.note,
        ])
    return rows


HEADER = ["tool", "wall s", "CPU s", "peak RSS MB", "MB/s", "wall ÷ floor", "wall ÷ medvol", "CPU ÷ medvol", "note"]


def text_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header] + rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclasses.dataclass
class Target:
    name: str
    measured: str
    passed: Optional[bool]    # None: could not be measured

    @property
    def verdict(self) -> str:
        return "n/a" if self.passed is None else ("PASS" if self.passed else "FAIL")


def evaluate_targets(case_results: list[CaseResult]) -> list[Target]:
    by_name = {c.case.name: c for c in case_results}
    targets: list[Target] = []

    def ratio(case: str, a: str, b: str) -> Optional[float]:
        c = by_name.get(case)
        if not c or a not in c.results or b not in c.results:
            return None
        return paired_ratio(c.results[a], c.results[b])

    for case in [c.case.name for c in case_results if c.case.kind == "convert" and c.case.codec == "uncompressed"]:
        r = ratio(case, "medvol", "cat")
        targets.append(Target(f"{case}: medvol within 1.5× of cat", fmt(r, 2, "× cat"), None if r is None else r <= 1.5))
        r = ratio(case, "dcm2niix", "medvol")
        targets.append(Target(f"{case}: ≥ 2× faster than dcm2niix", fmt(r, 2, "× faster"), None if r is None else r >= 2))
        r = ratio(case, "SimpleITK", "medvol")
        targets.append(Target(f"{case}: ≥ 5× faster than SimpleITK", fmt(r, 2, "× faster"), None if r is None else r >= 5))

    # Linear growth: medvol's time per slice at the largest size within 1.2× of that at 500 slices.
    per_slice = {}
    for c in case_results:
        if c.case.kind == "convert" and c.case.codec == "uncompressed" and c.results["medvol"].runs:
            per_slice[c.case.slices] = c.results["medvol"].median("wall") / c.case.slices
    if 500 in per_slice and len(per_slice) > 1:
        largest = max(per_slice)
        other = largest if largest != 500 else min(per_slice)
        growth = per_slice[other] / per_slice[500]
        detail = ", ".join(f"{n}: {per_slice[n] * 1000:.2f} ms" for n in sorted(per_slice))
        if other > 500:
            targets.append(Target(f"linear growth: medvol time/slice at {other} ≤ 1.2× that at 500",
                                  f"{growth:.2f}× ({detail})", growth <= 1.2))
        else:
            targets.append(Target(f"linear growth: medvol time/slice at 500 ≤ 1.2× that at {other}",
                                  f"{1 / growth:.2f}× ({detail})", 1 / growth <= 1.2))

    for c in case_results:
        if c.case.kind != "convert" or c.case.codec == "uncompressed":
            continue
        peers = {name: r for name, r in c.results.items() if name not in ("cat", "medvol") and r.runs}
        medvol = c.results["medvol"]
        if not peers or not medvol.runs:
            targets.append(Target(f"{c.case.name}: faster than the fastest peer", "not measured", None))
            continue
        fastest = min(peers, key=lambda name: peers[name].median("wall"))
        r = paired_ratio(peers[fastest], medvol)
        targets.append(Target(f"{c.case.name}: faster than the fastest peer ({fastest})", fmt(r, 2, "× faster"),
                              None if r is None else r > 1))

    for c in case_results:
        if c.case.kind == "convert" and c.results["medvol"].runs and c.output_bytes:
            r = c.results["medvol"].peak_rss_bytes / c.output_bytes
            targets.append(Target(f"{c.case.name}: medvol peak memory ≤ 1.1× output volume",
                                  f"{r:.2f}× ({c.results['medvol'].peak_rss_bytes / MB:.0f} MB / "
                                  f"{c.output_bytes / MB:.0f} MB)", r <= 1.1))

    for c in case_results:
        if c.case.kind == "listing":
            r = ratio(c.case.name, "dcm2niix", "medvol")
            targets.append(Target(f"{c.case.name}: medvol series faster than dcm2niix listing",
                                  fmt(r, 2, "× faster"), None if r is None else r > 1))
    return targets


def command_lines(ctx: Context) -> list[tuple[str, str]]:
    example = Case("ct500", "convert", "", Path("SERIES"), 500)
    out = Path("OUT")
    rel = lambda s: s.replace(str(TOOLS_DIR), "benchmarks/tools").replace(ctx.python, "python").replace(
        ctx.medvol, "medvol").replace(ctx.dcm2niix, "dcm2niix")
    convert = [
        ("floor", "cat SERIES/* > OUT/one.raw"),
        ("medvol", rel(shlex.join(medvol_convert_command(ctx)(example, out)))),
        ("dcm2niix", rel(shlex.join(dcm2niix_convert_command(ctx)(example, out)))),
        ("SimpleITK", rel(shlex.join(sitk_command(ctx)(example, out)))),
        ("pydicom", rel(shlex.join(pydicom_command(ctx)(example, out)))),
        ("listing: floor", "cat ARCHIVE/*/* > OUT/one.raw"),
        ("listing: medvol", rel(shlex.join(medvol_series_command(ctx)(Case("", "", "", Path("ARCHIVE")), out)))),
        ("listing: dcm2niix", rel(shlex.join(dcm2niix_list_command(ctx)(Case("", "", "", Path("ARCHIVE")), out)))),
    ]
    return convert


def read_first(path: str, key: str) -> str:
    try:
        for line in open(path):
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def output_of(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        return (result.stdout + result.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info(ctx: Context) -> dict[str, str]:
    info = {}
    info["CPU"] = read_first("/proc/cpuinfo", "model name")
    info["cores"] = str(os.cpu_count())
    mem_kib = read_first("/proc/meminfo", "MemTotal").split()[0]
    info["RAM"] = f"{int(mem_kib) / 1024 ** 2:.1f} GiB" if mem_kib.isdigit() else "?"
    info["kernel"] = platform.release()
    info["OS"] = _os_release()
    info["medvol"] = output_of(["git", "-C", str(REPO), "describe", "--always", "--dirty", "--tags"]) + \
        f" (binary {os.path.relpath(ctx.medvol, REPO)})"
    info["Swift"] = output_of(["swift", "--version"]).splitlines()[0] if shutil.which("swift") else "?"
    version = output_of([ctx.dcm2niix, "--version"]).splitlines()
    info["dcm2niix"] = version[0] if version else "?"
    for module in ("SimpleITK", "pydicom", "numpy", "nibabel"):
        try:
            imported = __import__(module)
            info[module] = imported.Version_VersionString() if module == "SimpleITK" else imported.__version__
        except (ImportError, AttributeError):
            info[module] = "missing"
    try:
        import pydicom.pixels  # noqa: F401 (pydicom 3)
        plugins = []
        for package in ("pylibjpeg", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg", "pylibjpeg-rle", "python-gdcm"):
            try:
                from importlib.metadata import version as package_version
                plugins.append(f"{package} {package_version(package)}")
            except Exception:
                pass
        info["pydicom decoders"] = ", ".join(plugins) or "pydicom's own only"
    except ImportError:
        pass
    packages = output_of(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "libgdcm3.0", "libinsighttoolkit5.2",
                          "libgdcm-tools", "libcharls2", "libopenjp2-7"])
    info["Debian packages"] = "; ".join(line for line in packages.splitlines() if line.strip())
    return info


def _os_release() -> str:
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "?"


def write_report(ctx: Context, case_results: list[CaseResult], targets: list[Target], info: dict[str, str],
                 load: tuple[tuple, tuple], started: str, elapsed: float, path: Path) -> None:
    args = ctx.args
    lines = ["# medvol benchmarks", ""]
    lines.append("Generated by `benchmarks/run.py` (see the README, \"Benchmarks\"); do not edit by hand.")
    lines.append("")
    lines.append(f"> Load average {load[0][0]:.1f} at the start and {load[1][0]:.1f} at the end, on {os.cpu_count()} cores "
                 "(1-minute averages: they include this benchmark's own load and whatever ran just before it). "
                 "The ratios are paired within each repeat (tools alternate, round robin), which cancels much of "
                 "the noise; absolute times vary from run to run.")
    lines.append("")
    if args.note:
        lines.append(f"> {args.note}")
        lines.append("")
    mode = "quick" if args.quick else "full"
    lines.append(f"Run: {started}, {mode} mode, {args.repeats} timed repeats per case after one checked warm-up run "
                 f"per tool, page cache warm; {elapsed / 60:.1f} min in all. Command: "
                 f"`{' '.join(['python', 'benchmarks/run.py'] + sys.argv[1:])}`")
    lines.append("")
    rss_method = ("GNU time's %M" if TIME else
                  "a small Python launcher that forks the tool (values include a few MB of the launcher's pages; "
                  "install GNU time for exact ones)")
    lines.append("Columns: medians over the repeats of wall time and CPU time (user + sys) of the child process; "
                 f"peak RSS is the largest ru_maxrss over the repeats, measured by {rss_method}; MB/s is input bytes ÷ "
                 "median wall time; the ratio columns are medians of the per-repeat ratios (the tool's time ÷ the "
                 "floor's or medvol's time in the same repeat; ÷ medvol > 1 means slower than medvol). Under load, "
                 "CPU ÷ medvol is the steadier number, but the targets are about wall time.")
    lines.append("")
    lines.append("## Targets (SPEC, \"Performance\")")
    lines.append("")
    lines.append(markdown_table([[t.name, t.measured, f"**{t.verdict}**"] for t in targets], ["target", "measured", "verdict"]))
    lines.append("")
    lines.append("## Results")
    for c in case_results:
        lines.append("")
        lines.append(f"### {c.case.name}: {c.case.description}")
        lines.append("")
        extra = ""
        if c.output_bytes:
            extra = f"; output {c.shape} {c.dtype}, {c.output_bytes / MB:.1f} MB"
            if c.results["medvol"].runs:
                extra += (f"; medvol peak RSS ÷ output volume = "
                          f"{c.results['medvol'].peak_rss_bytes / c.output_bytes:.2f}")
        lines.append(f"{len(c.case.files)} files, {c.case.input_bytes / MB:.1f} MB of input{extra}.")
        lines.append("")
        lines.append(markdown_table(case_rows(c), HEADER))
        checks = [f"{name}: {r.check}" for name, r in c.results.items() if r.check and not r.broken]
        if checks:
            lines.append("")
            lines.append("Checked: " + "; ".join(checks) + ".")
    lines.append("")
    lines.append("## Commands")
    lines.append("")
    lines.append("Each tool runs as a child process of the harness, stdout to /dev/null; outputs are deleted "
                 "(untimed) before and after every run. The Python tools' times include the interpreter's "
                 "start-up and imports, as they do for anyone who runs them.")
    lines.append("")
    for name, command in command_lines(ctx):
        lines.append(f"- {name}: `{command}`")
    lines.append("")
    lines.append("dcm2niix flags: `-z n` writes uncompressed NIfTI (.mhd is uncompressed too); `-b n` writes no BIDS "
                 "sidecar (medvol writes none for .mhd); `-w 1` overwrites rather than inventing a new name; the rest "
                 "are its defaults (in particular not `-a y`, which would promise that a folder holds one series; "
                 "medvol gets no such hint). Listing: `-n -1` (\"provide a negative number for listing of series "
                 "numbers in input folder\") parses every header, forms the series and prints one line per series "
                 "without converting or writing anything — the same job as `medvol series`. `-q y` only finds "
                 "DICOM files (no series), `-b o` also writes a sidecar per series.")
    lines.append("")
    lines.append("Test data: `medvol phantom DIR --size 512,512,N --unsigned-intercept --shuffle-names` (12-bit "
                 "unsigned CT with Rescale Intercept −1024, random-looking file names); compressed copies by "
                 "`gdcmconv --rle|--jpegls|--j2k IN OUT` per file (lossless); the listing archive is "
                 "`medvol phantom` run once per series with `--size 64,64,100`.")
    lines.append("")
    lines.append("## Machine")
    lines.append("")
    for key, value in info.items():
        lines.append(f"- {key}: {value}")
    lines.append(f"- load average at start: {' '.join(f'{x:.2f}' for x in load[0])}; at end: "
                 f"{' '.join(f'{x:.2f}' for x in load[1])}")
    lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def results_json(case_results: list[CaseResult], targets: list[Target], info: dict[str, str]) -> dict:
    return {
        "machine": info,
        "cases": [{
            "name": c.case.name, "description": c.case.description, "files": len(c.case.files),
            "input_bytes": c.case.input_bytes, "output_bytes": c.output_bytes, "order": c.order,
            "tools": {name: {"broken": r.broken, "check": r.check,
                             "runs": [dataclasses.asdict(run) for run in r.runs]} for name, r in c.results.items()},
        } for c in case_results],
        "targets": [dataclasses.asdict(t) | {"verdict": t.verdict} for t in targets],
    }


# --------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--medvol", default=str(REPO / ".build/release/medvol"), help="medvol binary (release build)")
    parser.add_argument("--dcm2niix", help="dcm2niix binary (default: on PATH, else beside this Python)")
    parser.add_argument("--work", default=str(HERE / "work"), help="cache of test data and scratch outputs")
    parser.add_argument("--repeats", type=int, help="timed repeats per case (default 5, quick 3)")
    parser.add_argument("--quick", action="store_true", help="120 and 500 slices only, 3 repeats, 2,000 small files")
    parser.add_argument("--only", action="append", help="run only this case (repeatable, or comma-separated): "
                        "ct120 ct500 ct1500 ct500-rle ct500-jpegls ct500-j2k series10000 (series2000 with --quick)")
    parser.add_argument("--tools", help="comma-separated subset of: cat,medvol,dcm2niix,SimpleITK,pydicom")
    parser.add_argument("--small-files", type=int, help="files in the listing archive (multiple of 100)")
    parser.add_argument("--report", help="markdown report (default docs/benchmarks.md for runs of every case, "
                        "WORK/benchmarks-partial.md otherwise)")
    parser.add_argument("--note", help="a line added to the report (e.g. what else ran on the machine)")
    parser.add_argument("--regenerate", action="store_true", help="regenerate the cached test data")
    parser.add_argument("--generate-only", action="store_true", help="make the test data and stop")
    args = parser.parse_args()
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    global TIME
    TIME = gnu_time()
    ctx = Context(args)
    if not Path(ctx.medvol).is_file():
        parser.error(f"no medvol binary at {ctx.medvol} (swift build -c release, or pass --medvol)")
    try:
        import numpy  # noqa: F401
        import SimpleITK  # noqa: F401
        import nibabel  # noqa: F401
    except ImportError as error:
        parser.error(f"{error}: run with the project's venv (make venv; .venv/bin/python benchmarks/run.py)")

    wanted = {name.strip() for item in (args.only or []) for name in item.split(",") if name.strip()} or None
    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    t0 = time.monotonic()
    load_start = os.getloadavg()
    cases = prepare_cases(ctx, wanted)
    if args.generate_only:
        return 0

    tool_sets = build_tools(ctx)
    if args.tools:
        keep = {name.strip() for name in args.tools.split(",")} | {"medvol"}
        tool_sets = {kind: [t for t in tools if t.name in keep] for kind, tools in tool_sets.items()}

    case_results = []
    for case in cases:
        case_results.append(measure_case(ctx, case, tool_sets[case.kind], args.repeats))
        print(f"\n{case.name}: {case.description}")
        print(text_table(case_rows(case_results[-1]), HEADER))
    targets = evaluate_targets(case_results)
    load_end = os.getloadavg()
    print("\nTargets")
    print(text_table([[t.verdict, t.name, t.measured] for t in targets], ["", "target", "measured"]))

    info = machine_info(ctx)
    info["medvol RSS at start-up"] = f"{baseline_rss(ctx) / 1024:.0f} MB (peak RSS of `medvol --help`: libraries and runtime, before any voxel)"
    partial = bool(wanted or args.tools or args.small_files)
    report = Path(args.report) if args.report else (ctx.work / "benchmarks-partial.md" if partial else REPO / "docs/benchmarks.md")
    write_report(ctx, case_results, targets, info, (load_start, load_end), started, time.monotonic() - t0, report)
    shutil.rmtree(ctx.out, ignore_errors=True)
    (ctx.work / "results.json").write_text(json.dumps(results_json(case_results, targets, info), indent=1))
    print(f"\nreport: {report}\nraw numbers: {ctx.work / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
