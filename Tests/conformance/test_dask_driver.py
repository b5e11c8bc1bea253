"""The Dask driver (integrations/dask) on a LocalCluster of two worker processes gives the outputs of one
plain `medvol convert`, reports the failed stack while the others go on, and resumes."""
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from conftest import ROOT, medvol_binary
from test_archive_index import SHARED, STUDIES, index_json, make_archive, tree

distributed = pytest.importorskip("distributed")
PACKAGE = ROOT / "integrations" / "dask"


@pytest.fixture(scope="module")
def driver():
    # Workers are separate processes: they import the package from the same folder.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE), os.environ.get("PYTHONPATH")]))
    sys.path.insert(0, str(PACKAGE))
    import medvol_dask
    return medvol_dask


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def test_local_cluster_gives_the_plain_outputs(medvol, driver, client, tmp_path):
    root = tmp_path / "export"
    info = make_archive(root)
    index = tmp_path / "archive.sqlite"
    index_json(medvol, root, index)
    plain = medvol("convert", root, tmp_path / "plain", "--format", "nii.gz", "--quiet", check=False)
    assert plain.returncode == 3
    failures = []
    out = tmp_path / "dask"
    run = driver.convert_archive(client, index, out, "nii.gz", medvol=medvol_binary(), batch_images=12, log=failures.append)
    assert len(client.scheduler_info()["workers"]) == 2
    expected = STUDIES + SHARED + 2
    assert (run.converted, run.already_converted, list(run.failed)) == (expected, 0, [f"{_key_of(index, info['broken_series'])}"])
    assert run.exit_status == 3 and len(failures) == 1 and "pixel data truncated" in failures[0]
    assert run.tasks < expected                    # small stacks batched
    assert tree(out) == tree(tmp_path / "plain")
    with sqlite3.connect(index) as db:
        assert db.execute("SELECT status, count(*) FROM results GROUP BY status ORDER BY status").fetchall() == \
            [("converted", expected), ("failed", 1)]

    # Again: everything already converted, the broken stack tried and reported again.
    again = driver.convert_archive(client, index, out, "nii.gz", medvol=medvol_binary())
    assert (again.converted, again.already_converted, len(again.failed), again.tasks) == (0, expected, 1, expected + 1)


def test_a_killed_task_is_recorded_as_failed(driver, client, tmp_path, medvol):
    root = tmp_path / "one"
    from dicom_fixtures import SeriesSpec, pattern, write_series
    write_series(root, SeriesSpec(values=pattern(3, 4, 4)))
    index = tmp_path / "one.sqlite"
    index_json(medvol, root, index)
    killer = tmp_path / "killed-medvol"
    killer.write_text("#!/bin/sh\nkill -9 $$\n")
    killer.chmod(0o755)
    run = driver.convert_archive(client, index, tmp_path / "out", "npy", medvol=str(killer))
    assert run.exit_status == 1 and len(run.failed) == 1
    assert "medvol exited with status -9" in next(iter(run.failed.values()))


def _key_of(index, series_uid):
    with sqlite3.connect(index) as db:
        return db.execute("SELECT key FROM stacks WHERE series_instance_uid = ?", (series_uid,)).fetchone()[0]
