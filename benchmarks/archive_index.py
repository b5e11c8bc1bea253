#!/usr/bin/env python3
"""Archive-scale benchmarks (docs/archive-index.md): `medvol index` of many small files against
`dcm2niix -n -1` (its listing) and `medvol series`; re-index of the unchanged archive; `series --index`;
throughput of the Dask driver (integrations/dask) with 1 and 2 worker processes.

The archive is generated in a scratch folder: one small DICOM file (8×8 int16, written by pydicom) copied
and patched byte for byte with new Study/Series/SOP Instance UIDs, Instance Number and position, 100 files
per series. Tools alternate within each repeat (round robin); ratios are medians of per-repeat ratios.

    python benchmarks/archive_index.py --medvol .build/release/medvol [--files 100000] [--repeats 3]

Appends its report to docs/benchmarks.md (section "Archive index").
"""
from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SERIES_MARK = "2.25." + "1" * 18
STUDY_MARK = "2.25." + "3" * 18
SOP_MARK = "2.25." + "2" * 21
INSTANCE_MARK = "99999"
POSITION_MARK = "777777"
DASK_SLICE = 256        # default rows = columns of the Dask archive's stacks: 256×256×40 int16 (5.2 MB, an MR series' size)


def template_bytes(rows: int = 8, columns: int = 8) -> bytes:
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian
    from io import BytesIO
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = SOP_MARK
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, SOP_MARK
    ds.Modality, ds.PatientID, ds.PatientName, ds.StudyDate = "CT", "BENCH", "Bench^Archive", "20240102"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY_MARK, SERIES_MARK
    ds.SeriesNumber, ds.SeriesDescription, ds.InstanceNumber = 1, "bench", INSTANCE_MARK
    ds.ImagePositionPatient = ["0", "0", POSITION_MARK]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing, ds.SliceThickness = [1, 1], 2
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.Rows, ds.Columns = 1, "MONOCHROME2", rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    # Noise over a smooth ramp: compresses like a CT slice (about 2:1), not like zeros.
    ramp = np.add.outer(np.arange(rows), np.arange(columns)) * 4
    ds.PixelData = (ramp + np.random.default_rng(1).integers(0, 64, (rows, columns))).astype("<i2").tobytes()
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def make_archive(root: Path, files: int, per_series: int = 100, rows: int = 8, columns: int = 8) -> int:
    """`files` files in series of `per_series`, one folder per series; returns the series count."""
    template = template_bytes(rows, columns)
    for mark in (SERIES_MARK, STUDY_MARK, SOP_MARK, INSTANCE_MARK, POSITION_MARK):
        assert template.count(mark.encode()) >= 1, mark
    series_count = files // per_series
    for series in range(series_count):
        folder = root / f"s{series:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        base = (template.replace(SERIES_MARK.encode(), f"2.25.1{series:017d}".encode())
                .replace(STUDY_MARK.encode(), f"2.25.3{series // 10:017d}".encode()))
        for instance in range(per_series):
            data = (base.replace(SOP_MARK.encode(), f"2.25.2{series:010d}{instance:010d}".encode())
                    .replace(INSTANCE_MARK.encode(), f"{instance + 1:5d}".encode())
                    .replace(POSITION_MARK.encode(), f"{instance * 2:06d}".encode()))
            (folder / f"IM{instance:05d}.dcm").write_bytes(data)
    return series_count


def timed(command: list, **kwargs) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kwargs)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return elapsed


def median(values):
    return statistics.median(values)


def index_benchmarks(medvol: str, dcm2niix: str, work: Path, files: int, repeats: int) -> dict:
    archive = work / "archive"
    started = time.perf_counter()
    series = make_archive(archive, files)
    generated = time.perf_counter() - started
    index, listing_out = work / "archive.sqlite", work / "dcm2niix-out"
    listing_out.mkdir(exist_ok=True)
    times = {"index": [], "reindex": [], "dcm2niix": [], "series": [], "series_index": []}
    ratios = {"dcm2niix/index": [], "series/index": [], "index/reindex": []}
    # One warm-up of each (page cache), then round robin.
    for warm in ([medvol, "index", str(archive), "--output", str(index), "--quiet"],
                 [dcm2niix, "-n", "-1", "-o", str(listing_out), str(archive)], [medvol, "series", str(archive), "--quiet"]):
        timed(warm)
    for repeat in range(repeats):
        for suffix in ("", "-wal", "-shm"):
            Path(str(index) + suffix).unlink(missing_ok=True)
        first = timed([medvol, "index", str(archive), "--output", str(index), "--quiet"])
        again = timed([medvol, "index", str(archive), "--output", str(index), "--quiet"])
        listing = timed([dcm2niix, "-n", "-1", "-o", str(listing_out), str(archive)])
        plain = timed([medvol, "series", str(archive), "--quiet"])
        from_index = timed([medvol, "series", "--index", str(index), "--json"])
        for name, value in (("index", first), ("reindex", again), ("dcm2niix", listing), ("series", plain), ("series_index", from_index)):
            times[name].append(value)
        ratios["dcm2niix/index"].append(listing / first)
        ratios["series/index"].append(plain / first)
        ratios["index/reindex"].append(first / again)
        print(f"repeat {repeat + 1}: index {first:.2f} s, re-index {again:.3f} s, dcm2niix -n -1 {listing:.2f} s, "
              f"series {plain:.2f} s, series --index {from_index:.3f} s", flush=True)
    # The re-index read no header (its own count).
    report = subprocess.run([medvol, "index", str(archive), "--output", str(index), "--json", "--quiet"],
                            capture_output=True, text=True, check=True).stdout
    assert '"headersRead": 0' in report, report
    shutil.rmtree(archive)
    return {"files": files, "series": series, "generated": generated, "times": times, "ratios": ratios,
            "index_bytes": index.stat().st_size}


def dask_benchmarks(medvol: str, work: Path, stacks: int, repeats: int, slice_size: int = DASK_SLICE) -> dict:
    sys.path.insert(0, str(REPO / "integrations" / "dask"))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "integrations" / "dask"), os.environ.get("PYTHONPATH")]))
    import logging
    logging.getLogger("distributed").setLevel(logging.WARNING)
    from distributed import Client, LocalCluster
    from medvol_dask import convert_archive
    archive = work / "dask-archive"
    make_archive(archive, stacks * 40, per_series=40, rows=slice_size, columns=slice_size)
    index = work / "dask.sqlite"
    timed([medvol, "index", str(archive), "--output", str(index), "--quiet"])
    clusters = {n: LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) for n in (1, 2)}
    clients = {n: Client(cluster) for n, cluster in clusters.items()}
    times = {1: [], 2: []}
    ratios = []
    # The ceiling the machine allows: the same medvol processes (one per stack) run one at a time and two at
    # a time by a plain loop, without Dask.
    keys = [str(position) for position in range(1, stacks + 1)]

    def plain_processes(parallel: int, out: Path) -> float:
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        running = []
        for key in keys:
            running.append(subprocess.Popen([medvol, "convert", "--index", str(index), str(out), "--format", "nii.gz",
                                             "--series", key, "--quiet"]))
            if len(running) >= parallel:
                running.pop(0).wait()
        for process in running:
            process.wait()
        return time.perf_counter() - started

    plain = {1: [], 2: []}
    try:
        for repeat in range(repeats + 1):            # the first round warms up
            for workers in (1, 2):
                out = work / f"dask-out-{workers}"
                shutil.rmtree(out, ignore_errors=True)
                run = convert_archive(clients[workers], index, out, "nii.gz", medvol=medvol, resume=False)
                assert run.converted == stacks and not run.failed, run
                if repeat:
                    times[workers].append(run.seconds)
            for parallel in (1, 2):
                elapsed = plain_processes(parallel, work / f"plain-out-{parallel}")
                if repeat:
                    plain[parallel].append(elapsed)
            if repeat:
                ratios.append(times[1][-1] / times[2][-1])
                print(f"dask repeat {repeat}: 1 worker {times[1][-1]:.2f} s, 2 workers {times[2][-1]:.2f} s", flush=True)
    finally:
        for client in clients.values():
            client.close()
        for cluster in clusters.values():
            cluster.close()
    shutil.rmtree(archive)
    return {"stacks": stacks, "times": times, "ratios": ratios,
            "plain_ratios": [one / two for one, two in zip(plain[1], plain[2])], "plain": plain}


def report_text(args, index: dict, dask: dict) -> str:
    t, r = index["times"], index["ratios"]
    load = os.getloadavg()[0]
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = [
        "",
        "## Archive index (benchmarks/archive_index.py)",
        "",
        f"Run: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, medvol at {commit}, {os.cpu_count()} cores, "
        f"1-minute load average {load:.1f} at the end (the machine is shared); {args.repeats} repeats, tools alternating, "
        "medians; ratios are medians of the per-repeat ratios. Command: "
        f"`python benchmarks/archive_index.py --medvol {args.medvol} --files {args.files} --repeats {args.repeats} --dask-stacks {args.dask_stacks} --dask-slice {args.dask_slice}`.",
        "",
        f"Archive: {index['files']} files of 8×8 int16 (one pydicom file patched with new UIDs), {index['series']} series "
        f"of 100 files, one folder each; the index holds {index['index_bytes'] / 1e6:.1f} MB.",
        "",
        "| command | median wall time |",
        "|---|---|",
        f"| `medvol index ARCHIVE --output INDEX` (new index) | {median(t['index']):.2f} s |",
        f"| `medvol index` again, archive unchanged (0 headers read) | {median(t['reindex']):.3f} s |",
        f"| `dcm2niix -n -1 -o OUT ARCHIVE` (its listing) | {median(t['dcm2niix']):.2f} s |",
        f"| `medvol series ARCHIVE` | {median(t['series']):.2f} s |",
        f"| `medvol series --index INDEX --json` | {median(t['series_index']):.3f} s |",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| re-index of the unchanged archive ≥ 20× faster than the first index | {median(r['index/reindex']):.1f}× | "
        f"**{'PASS' if median(r['index/reindex']) >= 20 else 'FAIL'}** |",
        f"| index vs dcm2niix -n -1 (dcm2niix ÷ index) | {median(r['dcm2niix/index']):.2f}× | (comparison) |",
        f"| index vs medvol series (series ÷ index) | {median(r['series/index']):.2f}× | (comparison) |",
    ]
    if dask:
        speedup = median(dask["ratios"])
        lines += [
            f"| Dask driver: 2 workers ≥ 1.7× the throughput of 1 ({dask['stacks']} stacks of {args.dask_slice}×{args.dask_slice}×40, one task each, .nii.gz) | "
            f"{speedup:.2f}× (1 worker {median(dask['times'][1]):.2f} s, 2 workers {median(dask['times'][2]):.2f} s) | "
            f"**{'PASS' if speedup >= 1.7 else 'FAIL'}** |",
            f"| (ceiling on this machine: the same medvol processes, 2 at a time vs 1, no Dask) | "
            f"{median(dask['plain_ratios']):.2f}× (1 at a time {median(dask['plain'][1]):.2f} s, 2 at a time {median(dask['plain'][2]):.2f} s) | (comparison) |",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--medvol", default=str(REPO / ".build/release/medvol"))
    parser.add_argument("--dcm2niix", default=shutil.which("dcm2niix") or str(Path(sys.executable).parent / "dcm2niix"))
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dask-stacks", type=int, default=60, help="stacks in the Dask archive (0: skip the Dask part)")
    parser.add_argument("--dask-slice", type=int, default=DASK_SLICE, help="rows and columns of the Dask archive's slices")
    parser.add_argument("--work", default="/tmp", help="where the scratch folder goes")
    parser.add_argument("--report", default=str(REPO / "docs/benchmarks.md"), help="the report is appended to this file")
    args = parser.parse_args()
    args.medvol = str(Path(args.medvol).resolve())
    with tempfile.TemporaryDirectory(prefix="medvol-archive-bench-", dir=args.work) as scratch:
        work = Path(scratch)
        index = index_benchmarks(args.medvol, args.dcm2niix, work, args.files, args.repeats)
        dask = dask_benchmarks(args.medvol, work, args.dask_stacks, args.repeats, args.dask_slice) if args.dask_stacks else None
    text = report_text(args, index, dask)
    print(text)
    with open(args.report, "a") as report:
        report.write(text)


if __name__ == "__main__":
    main()
