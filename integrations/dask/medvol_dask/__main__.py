"""`medvol-dask INDEX OUTDIR --format F`: convert an indexed archive on a Dask cluster."""
from __future__ import annotations

import argparse
import sys

from .driver import convert_archive


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="medvol-dask", description=__doc__)
    parser.add_argument("index", help="the archive index (medvol index ARCHIVE --output INDEX)")
    parser.add_argument("outdir", help="the output folder (on a file system the workers share)")
    parser.add_argument("--format", required=True, help="output format (nii.gz, mhd, npy, nrrd, dicom, ...)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786), e.g. one dask-jobqueue started")
    where.add_argument("--workers", type=int, default=2, help="a LocalCluster of this many worker processes (default 2)")
    parser.add_argument("--medvol", default="medvol", help="the medvol program on the workers")
    parser.add_argument("--batch-images", type=int, default=0, help="group small stacks into tasks of at least this many images")
    parser.add_argument("--no-resume", action="store_true", help="convert every stack, even those converted before")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    arguments, extra = parser.parse_known_args(argv)

    from distributed import Client, LocalCluster
    if arguments.scheduler:
        client = Client(arguments.scheduler)
    else:
        client = Client(LocalCluster(n_workers=arguments.workers, threads_per_worker=1, processes=True))
    with client:
        if not arguments.quiet:
            print(f"dashboard: {client.dashboard_link}", file=sys.stderr)
        run = convert_archive(client, arguments.index, arguments.outdir, arguments.format, medvol=arguments.medvol,
                              batch_images=arguments.batch_images, resume=not arguments.no_resume, extra=extra,
                              progress=not arguments.quiet, log=lambda line: print(line, file=sys.stderr))
    print(f"medvol-dask: converted {run.converted} stacks, {run.already_converted} already converted, "
          f"{len(run.failed)} failed in {run.seconds:.2f} s ({run.tasks} tasks)", file=sys.stderr)
    for key, error in run.failed.items():
        print(f"  failed {key}: {error}", file=sys.stderr)
    return run.exit_status


if __name__ == "__main__":
    sys.exit(main())
