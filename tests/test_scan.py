"""The drop sensor's incremental scan over local, S3 (moto) and SFTP (sshd) stores."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from medvault.platform.drops.ready import ReadyFile, ScanResult, run_key
from medvault.platform.drops.scan import scan
from medvault.platform.stores.local import LocalStore

pytestmark = pytest.mark.network


def ready_keys(result: ScanResult) -> list[str]:
    return sorted(f.key for files in result.ready.values() for f in files)


def test_new_site_and_date_with_done_marker(any_store):
    any_store.put_bytes("site_a/2026-01-02/patients.csv", b"id\n1\n")
    any_store.put_bytes("site_a/2026-01-02/visits.csv", b"id\n2\n")
    any_store.put_bytes("site_a/2026-01-02/_DONE", b"")
    first = scan(any_store, None)
    assert first.new_sites == ["site_a"]
    assert list(first.ready) == [("site_a", "2026-01-02")]
    files = first.ready[("site_a", "2026-01-02")]
    assert [f.key for f in files] == ["site_a/2026-01-02/patients.csv", "site_a/2026-01-02/visits.csv"]
    assert all(isinstance(f, ReadyFile) and f.size == 5 and f.version for f in files)
    assert first.pending == [] and first.strays == []
    key = run_key("site_a", "2026-01-02", files)
    assert key.startswith("drop:site_a:2026-01-02:") and key == run_key("site_a", "2026-01-02", files[::-1])
    json.loads(first.cursor)  # a JSON string, as sensor cursors are

    # Another site and another date on the next tick.
    any_store.put_bytes("site_a/2026-01-03/patients.csv", b"id\n3\n")
    any_store.put_bytes("site_a/2026-01-03/patients.csv.done", b"")
    any_store.put_bytes("site_b/2026-01-03/patients.csv", b"id\n4\n")
    any_store.put_bytes("site_b/2026-01-03/_DONE", b"")
    second = scan(any_store, first.cursor)
    assert second.new_sites == ["site_b"]
    assert ready_keys(second) == ["site_a/2026-01-03/patients.csv", "site_b/2026-01-03/patients.csv"]
    assert set(second.ready) == {("site_a", "2026-01-03"), ("site_b", "2026-01-03")}

    third = scan(any_store, second.cursor)
    assert third.ready == {} and third.new_sites == [] and third.pending == []


def test_restart_with_stored_cursor_sees_nothing_new(any_store, tmp_path):
    for i in range(3):
        any_store.put_bytes(f"site_a/2026-01-0{i + 1}/f.csv", b"x" * (i + 1))
        any_store.put_bytes(f"site_a/2026-01-0{i + 1}/_DONE", b"")
    first = scan(any_store, None)
    assert len(ready_keys(first)) == 3
    saved = tmp_path / "cursor.txt"
    saved.write_text(first.cursor)  # the daemon stores it, dies, comes back
    any_store.close()
    again = scan(any_store, saved.read_text())
    assert again.ready == {} and again.new_sites == [] and again.pending == []
    assert again.cursor == first.cursor


def test_file_without_marker_waits_one_stable_tick(any_store):
    any_store.put_bytes("site_a/2026-01-02/slow.csv", b"id\n1\n")
    first = scan(any_store, None)
    assert first.ready == {} and first.pending == ["site_a/2026-01-02/slow.csv"]
    assert first.new_sites == ["site_a"]
    second = scan(any_store, first.cursor)  # same size and mtime as last tick: stable
    assert ready_keys(second) == ["site_a/2026-01-02/slow.csv"] and second.pending == []
    third = scan(any_store, second.cursor)
    assert third.ready == {}


def test_growing_file_is_not_stable(any_store):
    any_store.put_bytes("site_a/2026-01-02/grow.csv", b"a")
    first = scan(any_store, None)
    any_store.put_bytes("site_a/2026-01-02/grow.csv", b"a" * 50)  # still being written: size changed
    second = scan(any_store, first.cursor)
    assert second.ready == {} and second.pending == ["site_a/2026-01-02/grow.csv"]
    third = scan(any_store, second.cursor)
    assert ready_keys(third) == ["site_a/2026-01-02/grow.csv"]
    assert third.ready[("site_a", "2026-01-02")][0].size == 50


def test_partial_upload_is_picked_up_once_renamed(any_store):
    any_store.put_bytes("site_a/2026-01-02/_DONE", b"")
    any_store.put_bytes("site_a/2026-01-02/big.csv.part", b"half")
    first = scan(any_store, None)
    assert first.ready == {}  # _DONE never makes a .part ready
    assert first.pending == ["site_a/2026-01-02/big.csv.part"]
    again = scan(any_store, first.cursor)
    assert again.ready == {} and again.pending == ["site_a/2026-01-02/big.csv.part"]
    any_store.move("site_a/2026-01-02/big.csv.part", "site_a/2026-01-02/big.csv")
    renamed = scan(any_store, again.cursor)
    assert ready_keys(renamed) == ["site_a/2026-01-02/big.csv"] and renamed.pending == []


def test_renamed_part_without_any_marker_is_ready_at_once(any_store):
    any_store.put_bytes("site_a/2026-01-02/x.csv.part", b"half")
    first = scan(any_store, None)
    any_store.move("site_a/2026-01-02/x.csv.part", "site_a/2026-01-02/x.csv")
    second = scan(any_store, first.cursor)
    assert ready_keys(second) == ["site_a/2026-01-02/x.csv"]


def test_identical_reupload_and_changed_content(any_store):
    any_store.put_bytes("site_a/2026-01-02/_DONE", b"")
    any_store.put_bytes("site_a/2026-01-02/p.csv", b"id\n1\n")
    first = scan(any_store, None)
    (old,) = first.ready[("site_a", "2026-01-02")]

    any_store.put_bytes("site_a/2026-01-02/p.csv", b"id\n1\n")  # the same bytes again
    same = scan(any_store, first.cursor)
    if any_store.kind == "s3":
        assert same.ready == {}  # same ETag: not new
    else:
        # mtime-based versions: a re-upload may be a new version; the ingest dedupes by sha256.
        assert ready_keys(same) in ([], ["site_a/2026-01-02/p.csv"])

    any_store.put_bytes("site_a/2026-01-02/p.csv", b"id\n1\n2\n")  # changed content (and size)
    changed = scan(any_store, same.cursor)
    (new,) = changed.ready[("site_a", "2026-01-02")]
    assert new.key == old.key and new.version != old.version
    assert run_key("site_a", "2026-01-02", [new]) != run_key("site_a", "2026-01-02", [old])
    assert scan(any_store, changed.cursor).ready == {}


def test_hidden_and_nested_files_are_handed_to_the_ingest(any_store):
    any_store.put_bytes("site_a/2026-01-02/_DONE", b"")
    any_store.put_bytes("site_a/2026-01-02/.hidden.csv", b"h")
    any_store.put_bytes("site_a/2026-01-02/sub/nested.csv", b"n")
    any_store.put_bytes("site_a/2026-01-02/sub/nested.csv.done", b"")
    result = scan(any_store, None)
    assert ready_keys(result) == ["site_a/2026-01-02/.hidden.csv", "site_a/2026-01-02/sub/nested.csv"]


def test_strays_reported_once(any_store):
    any_store.put_bytes("readme.txt", b"root level")
    any_store.put_bytes("site_a/notes.txt", b"site level")
    any_store.put_bytes("site_a/2026-01-02/ok.csv", b"ok")
    any_store.put_bytes("site_a/2026-01-02/_DONE", b"")
    any_store.put_bytes("site_a/20260102/bad_date.csv", b"d")
    any_store.put_bytes("site_a/2026-02-30/impossible.csv", b"d")
    any_store.put_bytes("Site-B/2026-01-02/bad_site.csv", b"s")
    first = scan(any_store, None)
    codes = {key: code for key, code, _ in first.strays}
    assert codes == {
        "readme.txt": "outside_convention",
        "site_a/notes.txt": "outside_convention",
        "site_a/20260102/bad_date.csv": "bad_date_folder",
        "site_a/2026-02-30/impossible.csv": "bad_date_folder",
        "Site-B/2026-01-02/bad_site.csv": "bad_site",
    }
    assert all(message for _, _, message in first.strays)
    assert ready_keys(first) == ["site_a/2026-01-02/ok.csv"] and first.new_sites == ["site_a"]
    second = scan(any_store, first.cursor)
    assert second.strays == [] and second.ready == {}
    # Stray folders are listed once: the second tick lists root, the site and the window folder only.
    assert second.listed_prefixes == 3
    any_store.put_bytes("readme.txt", b"root level, edited")
    assert [s[0] for s in scan(any_store, second.cursor).strays] == ["readme.txt"]


def test_lookback_window_limits_listing(any_store):
    start = date(2026, 1, 1)
    days = [(start + timedelta(days=i)).isoformat() for i in range(10)]
    for day in days:
        for name in ("a.csv", "b.csv"):
            any_store.put_bytes(f"site_a/{day}/{name}", b"x")
        any_store.put_bytes(f"site_a/{day}/_DONE", b"")
    first = scan(any_store, None, lookback_days=2)
    assert len(ready_keys(first)) == 20
    assert first.listed_objects == 30

    idle = scan(any_store, first.cursor, lookback_days=2)
    assert idle.ready == {}
    # Only the newest folder and the 2 days before it are listed: 3 folders x 3 files.
    assert idle.listed_objects == 9
    # S3 lists the whole window in one ranged request; the others list folder by folder.
    assert idle.listed_prefixes == (2 + 1 if any_store.kind == "s3" else 2 + 3)

    # A late file into a closed folder is not seen by a normal tick ...
    any_store.put_bytes(f"site_a/{days[0]}/late.csv", b"late")
    assert scan(any_store, idle.cursor, lookback_days=2).ready == {}
    # ... but a full rescan finds it (the ones already run come back with the same run key).
    full = scan(any_store, idle.cursor, lookback_days=2, full=True)
    assert f"site_a/{days[0]}/late.csv" in ready_keys(full)

    # A new folder is listed even when it is older than the window (a backfill).
    any_store.put_bytes("site_a/2025-12-01/backfill.csv", b"b")
    any_store.put_bytes("site_a/2025-12-01/_DONE", b"")
    backfill = scan(any_store, idle.cursor, lookback_days=2)
    assert ready_keys(backfill) == ["site_a/2025-12-01/backfill.csv"]
    assert scan(any_store, backfill.cursor, lookback_days=2).ready == {}

    # A new newest folder moves the window.
    any_store.put_bytes("site_a/2026-01-11/new.csv", b"n")
    any_store.put_bytes("site_a/2026-01-11/_DONE", b"")
    moved = scan(any_store, backfill.cursor, lookback_days=2)
    assert ready_keys(moved) == ["site_a/2026-01-11/new.csv"]
    assert scan(any_store, moved.cursor, lookback_days=2).listed_objects == 3 + 3 + 2


def test_today_as_window_reference(any_store):
    for day in ("2026-01-01", "2026-01-09", "2026-01-10"):
        any_store.put_bytes(f"site_a/{day}/a.csv", b"x")
        any_store.put_bytes(f"site_a/{day}/_DONE", b"")
    first = scan(any_store, None, lookback_days=1, today=date(2026, 1, 10))
    idle = scan(any_store, first.cursor, lookback_days=1, today=date(2026, 1, 10))
    assert idle.listed_objects == 4 and idle.ready == {}
    later = scan(any_store, idle.cursor, lookback_days=1, today=date(2026, 3, 1))
    assert later.listed_objects == 0 and later.ready == {}


def test_cursor_rejects_garbage(any_store):
    with pytest.raises(ValueError, match="cursor"):
        scan(any_store, "not json")
    with pytest.raises(ValueError, match="cursor"):
        scan(any_store, '{"v": 99}')


def test_cursor_stays_small_for_10000_seen_files(tmp_path):
    root = tmp_path / "drops"
    start = date(2026, 1, 1)
    for s in range(10):
        for d in range(50):
            folder = root / f"site_{s}" / (start + timedelta(days=d)).isoformat()
            folder.mkdir(parents=True)
            (folder / "_DONE").write_bytes(b"")
            for f in range(20):
                (folder / f"file_{f:02d}.csv").write_bytes(b"x")
    store = LocalStore(root)
    first = scan(store, None)
    assert first.ready_count == 10_000 and len(first.new_sites) == 10
    idle = scan(store, first.cursor)
    assert idle.ready == {} and idle.listed_prefixes == 1 + 10 + 10 * 4
    assert idle.listed_objects == 10 * 4 * 21
    assert len(idle.cursor) < 40_000, len(idle.cursor)
