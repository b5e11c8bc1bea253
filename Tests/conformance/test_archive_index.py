"""`medvol index`, `convert --index` (with --shard and --resume) and `series --index` on an archive the test
writes: 42 studies, a folder holding two series, a localizer split off a series, name clashes, files that are
not DICOM and a stack whose pixel data are truncated (docs/archive-index.md)."""
import filecmp
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import generate_uid

from dicom_fixtures import SeriesSpec, pattern, write_series

STUDIES = 42
SHARED = len(range(0, STUDIES, 5))     # studies whose folder holds a second series
SHARDS = 4


def fnv1a64(text: str) -> int:
    digest = 0xCBF29CE484222325
    for byte in text.encode():
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return digest


def make_archive(root: Path) -> dict:
    """The archive; returns what the tests need to know of it."""
    info = {"broken_series": None, "localizer_series": None, "image_files": 0}
    for study in range(STUDIES):
        study_uid = generate_uid()
        folder = root / f"study{study:02d}"
        # Series numbers and descriptions repeat across studies: the names clash (_2, _3, …).
        spec = SeriesSpec(values=pattern(5, 8, 10, seed=study), series_number=1 + study % 3,
                          description=["Chest", "Head", "Abdomen"][study % 3], study_uid=study_uid,
                          patient_id=f"P{study:03d}")
        info["image_files"] += len(write_series(folder / "a", spec))
        if study % 5 == 0:
            # A second series in the same folder.
            other = SeriesSpec(values=pattern(4, 8, 10, seed=100 + study), series_number=7, description="Same folder",
                               study_uid=study_uid, modality="MR", file_names=[f"MR{k}.dcm" for k in range(4)])
            info["image_files"] += len(write_series(folder / "a", other))
    # A series with a localizer (another orientation) inside it: two stacks of one SeriesInstanceUID.
    uid = generate_uid()
    main = SeriesSpec(values=pattern(6, 8, 10, seed=900), series_uid=uid, series_number=9, description="With localizer")
    localizer = SeriesSpec(values=pattern(2, 8, 10, seed=901), series_uid=uid, series_number=9, description="With localizer",
                           row=(0.0, 1.0, 0.0), column=(0.0, 0.0, -1.0), file_names=["LOC1.dcm", "LOC2.dcm"])
    info["image_files"] += len(write_series(root / "loc", main)) + len(write_series(root / "loc", localizer))
    info["localizer_series"] = uid
    # A stack that cannot be converted: one file's pixel data cut short.
    broken = SeriesSpec(values=pattern(4, 8, 10, seed=950), series_number=11, description="Truncated")
    paths = write_series(root / "broken", broken)
    info["image_files"] += len(paths)
    paths[2].write_bytes(paths[2].read_bytes()[:-30])
    info["broken_series"] = broken.series_uid
    # Files that are not DICOM images.
    (root / "notes.txt").write_text("not DICOM\n")
    (root / "study03" / "garbage.dcm").write_bytes(b"\x00" * 50)
    (root / "study07" / "a" / "README").write_text("export log\n")
    return info


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive") / "export"
    info = make_archive(root)
    info["root"] = root
    return info


def index_json(medvol, root, index):
    return medvol("index", root, "--output", index, "--json", "--quiet").json()


def tree(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_index_records_every_file_and_lists_what_series_lists(medvol, archive, tmp_path):
    index = tmp_path / "archive.sqlite"
    first = index_json(medvol, archive["root"], index)
    total = archive["image_files"] + 3
    assert first["files"] == total and first["headersRead"] == total and first["newFiles"] == total
    assert first["skippedFiles"] == 3
    plain = medvol("series", archive["root"], "--json").json()
    assert first["stacks"] == len(plain["stacks"]) == STUDIES + SHARED + 2 + 1
    # The same listing, field for field, from the index.
    assert medvol("series", "--index", index, "--json").json() == plain
    assert medvol("series", "--index", index).stdout == medvol("series", archive["root"]).stdout

    # A database any SQLite client reads.
    with sqlite3.connect(index) as db:
        assert db.execute("SELECT count(*) FROM files").fetchone()[0] == total
        assert db.execute("SELECT count(*) FROM files WHERE skip_reason IS NULL AND sop_instance_uid IS NOT NULL "
                          "AND transfer_syntax_uid = '1.2.840.10008.1.2.1'").fetchone()[0] == archive["image_files"]
        assert db.execute("SELECT count(*) FROM stack_files").fetchone()[0] == archive["image_files"]
        keys = db.execute("SELECT key, shard_hash FROM stacks WHERE series_instance_uid = ? ORDER BY ordinal_in_series",
                          (archive["localizer_series"],)).fetchall()
        assert [k for k, _ in keys] == [f"{archive['localizer_series']}/1", f"{archive['localizer_series']}/2"]
        assert all(int(h, 16) == fnv1a64(k) for k, h in db.execute("SELECT key, shard_hash FROM stacks"))
        size, mtime = db.execute("SELECT size, mtime_ns FROM files WHERE path = ?",
                                 (str(archive["root"] / "notes.txt"),)).fetchone()
        stat = os.stat(archive["root"] / "notes.txt")
        assert (size, mtime) == (stat.st_size, stat.st_mtime_ns)

    # Unchanged archive: no header read again.
    again = index_json(medvol, archive["root"], index)
    assert again == {**first, "headersRead": 0, "newFiles": 0, "stacksRebuilt": 0}


def test_shards_give_the_plain_run_resume_converts_only_what_changed(medvol, archive, tmp_path):
    root = tmp_path / "export"
    shutil.copytree(archive["root"], root)
    index = tmp_path / "archive.sqlite"
    index_json(medvol, root, index)
    plain = medvol("convert", root, tmp_path / "plain", "--format", "nii.gz", "--quiet", check=False)
    assert plain.returncode == 3, plain      # the truncated stack fails, the others are converted
    expected = tree(tmp_path / "plain")
    assert len(expected) == STUDIES + SHARED + 2 and "3_Abdomen_14.nii.gz" in expected and "9_With_localizer_2.nii.gz" in expected

    with sqlite3.connect(index) as db:
        keys = dict(db.execute("SELECT position, key FROM stacks"))
        broken_key = db.execute("SELECT key FROM stacks WHERE series_instance_uid = ?", (archive["broken_series"],)).fetchone()[0]
    merged = {}
    converted_total = 0
    for shard in range(1, SHARDS + 1):
        out = tmp_path / f"shard{shard}"
        run = medvol("convert", "--index", index, out, "--format", "nii.gz", "--shard", f"{shard}/{SHARDS}", check=False)
        holds_broken = fnv1a64(broken_key) % SHARDS == shard - 1
        assert run.returncode == (3 if holds_broken else 0), run
        wanted = {key for key in keys.values() if fnv1a64(key) % SHARDS == shard - 1}
        converted_total += len(wanted) - holds_broken
        assert f"converted {len(wanted) - holds_broken} of {len(wanted)} stacks" in run.stderr, run.stderr
        produced = tree(out) if out.exists() else {}
        assert not set(produced) & set(merged)
        merged.update(produced)
    assert converted_total == len(expected)
    assert merged == expected                    # byte-identical to one plain run, names included

    # Every result recorded; a resumed run converts nothing (the broken stack is tried again and fails).
    out = tmp_path / "all"
    out.mkdir()
    for name, data in merged.items():
        (out / name).write_bytes(data)
    changed = root / "study04" / "a" / "IM00003.dcm"
    with sqlite3.connect(index) as db:
        rows = db.execute("SELECT status, count(*) FROM results GROUP BY status ORDER BY status").fetchall()
        assert rows == [("converted", len(expected)), ("failed", 1)]
        error = db.execute("SELECT error FROM results WHERE stack_key = ?", (broken_key,)).fetchone()[0]
        assert "pixel data truncated" in error
        changed_key, changed_output = db.execute(
            "SELECT r.stack_key, r.output FROM results r JOIN stack_files s ON s.stack_key = r.stack_key "
            "JOIN files f ON f.id = s.file_id WHERE f.path = ?", (str(changed),)).fetchone()
    changed_name = Path(changed_output).name
    resumed = medvol("convert", "--index", index, out, "--format", "nii.gz", "--resume", check=False)
    assert resumed.returncode == 3, resumed
    assert f"converted 0 of {len(keys)} stacks into {out}, {len(expected)} already converted, 1 failed" in resumed.stderr

    # Two outputs deleted and one input changed: after re-indexing, exactly those three are converted.
    deleted = sorted(name for name in expected if name != changed_name)[:2]
    for name in deleted:
        (out / name).unlink()
    data = bytearray(changed.read_bytes())
    data[-2:] = b"\x34\x12"
    changed.write_bytes(bytes(data))
    stale = medvol("convert", "--index", index, out, "--format", "nii.gz", "--resume", "--series", changed_key, check=False)
    assert stale.returncode == 1 and "changed since indexed; run medvol index again" in stale.stderr, stale
    reindexed = index_json(medvol, root, index)
    assert reindexed["changedFiles"] == 1 and reindexed["headersRead"] == 5 and reindexed["stacksRebuilt"] == 1
    resumed = medvol("convert", "--index", index, out, "--format", "nii.gz", "--resume", check=False)
    assert resumed.returncode == 3, resumed
    assert f"converted 3 of {len(keys)} stacks into {out}, {len(expected) - 3} already converted, 1 failed" in resumed.stderr
    for name in (*deleted, changed_name):
        assert f"→ {out / name} " in resumed.stderr, resumed.stderr
    fresh = medvol("convert", root, tmp_path / "fresh", "--format", "nii.gz", "--quiet", check=False)
    assert fresh.returncode == 3
    assert tree(out) == tree(tmp_path / "fresh")
    assert tree(out)[changed_name] != expected[changed_name]


def test_exit_status_nothing_converted_and_usage(medvol, archive, tmp_path):
    index = tmp_path / "archive.sqlite"
    index_json(medvol, archive["root"], index)
    only_broken = medvol("convert", "--index", index, tmp_path / "out", "--format", "npy", "--series", archive["broken_series"], check=False)
    assert only_broken.returncode == 1 and "pixel data truncated" in only_broken.stderr, only_broken
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    unknown = medvol("convert", "--index", index, tmp_path / "out", "--format", "npy", "--series", "1.2.3.4", check=False)
    assert unknown.returncode == 1 and f"medvol: error: {index}: --series 1.2.3.4: no stack" in unknown.stderr, unknown
    for arguments in (["--shard", "5/4"], ["--shard", "0/4"], []):
        usage = medvol("convert", "--index", index, tmp_path / "out", *arguments, check=False)
        assert usage.returncode == 2, usage
    not_index = tmp_path / "other.sqlite"
    sqlite3.connect(not_index).execute("CREATE TABLE t (x)").connection.commit()
    refused = medvol("series", "--index", not_index, check=False)
    assert refused.returncode == 1 and f"medvol: error: {not_index}: " in refused.stderr, refused


def test_an_index_inside_the_archive_is_not_indexed(medvol, tmp_path):
    root = tmp_path / "small"
    write_series(root, SeriesSpec(values=pattern(3, 4, 4)))
    index = root / "index.sqlite"
    first = index_json(medvol, root, index)
    assert (first["files"], first["headersRead"], first["skippedFiles"]) == (3, 3, 0)
    assert index_json(medvol, root, index)["headersRead"] == 0
    # A vanished file goes, with its stack formed again from the rest.
    (root / "IM00003.dcm").unlink()
    third = index_json(medvol, root, index)
    assert (third["files"], third["removedFiles"], third["headersRead"], third["stacksRebuilt"]) == (2, 1, 2, 1)
    assert medvol("series", "--index", index, "--json").json()["stacks"][0]["imageCount"] == 2


def test_concurrent_shards_write_one_index_and_one_folder(medvol, archive, tmp_path):
    import subprocess
    from conftest import medvol_binary
    index = tmp_path / "archive.sqlite"
    index_json(medvol, archive["root"], index)
    medvol("convert", archive["root"], tmp_path / "plain", "--format", "npy", "--quiet", check=False)
    out = tmp_path / "out"
    processes = [subprocess.Popen([medvol_binary(), "convert", "--index", str(index), str(out), "--format", "npy",
                                   "--shard", f"{shard}/{SHARDS}", "--quiet"], stderr=subprocess.PIPE, text=True)
                 for shard in range(1, SHARDS + 1)]
    statuses = sorted(process.wait() for process in processes)
    assert statuses == [0] * (SHARDS - 1) + [3], [p.stderr.read() for p in processes]
    assert tree(out) == tree(tmp_path / "plain")
    with sqlite3.connect(index) as db:
        assert db.execute("SELECT status, count(*) FROM results GROUP BY status ORDER BY status").fetchall() == \
            [("converted", STUDIES + SHARED + 2), ("failed", 1)]


def test_dcm2niix_name_fields_from_the_index_equal_a_plain_run(medvol, archive, tmp_path):
    """`%p %s %d %t %e` come from Protocol Name, Study Time and Echo Number stored in the index, so a
    pattern with them names the outputs of `convert --index` exactly as a plain run does."""
    index = tmp_path / "archive.sqlite"
    index_json(medvol, archive["root"], index)
    pattern_text = "%s_%d_%t_e%e_%p"
    plain = medvol("convert", archive["root"], tmp_path / "plain", "--format", "npy", "--name", pattern_text, "--quiet", check=False)
    indexed = medvol("convert", "--index", index, tmp_path / "indexed", "--format", "npy", "--name", pattern_text, "--quiet", check=False)
    assert plain.returncode == indexed.returncode == 3, (plain, indexed)
    names = sorted(p.name for p in (tmp_path / "plain").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "indexed").iterdir())
    assert len(names) > 40 and all("_e" in name for name in names)
    with sqlite3.connect(index) as db:
        assert db.execute("SELECT COUNT(*) FROM stacks WHERE study_time IS NOT NULL").fetchone()[0] > 0
