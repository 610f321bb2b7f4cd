"""One contract for every ObjectStore (local, S3 on moto, SFTP on sshd), plus S3 and SFTP specifics."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from medvault.platform.stores.base import ObjectStore, StoreError
from medvault.platform.stores.s3 import S3Store
from medvault.platform.stores.sftp import SftpStore
from tests.servers import free_port, ssh_keygen, write_known_hosts

pytestmark = pytest.mark.network


@pytest.fixture(params=["local", "s3", "s3_prefixed", "sftp"])
def store(request, tmp_path):
    if request.param == "local":
        from medvault.platform.stores.local import LocalStore

        yield LocalStore(tmp_path / "store")
    elif request.param.startswith("s3"):
        client, bucket = request.getfixturevalue("s3_bucket")
        yield S3Store(client, bucket, prefix="drops/in" if request.param == "s3_prefixed" else "")
    else:
        server = request.getfixturevalue("sftp_server")
        st = server.store(request.getfixturevalue("sftp_root"))
        yield st
        st.close()


def seed(store: ObjectStore) -> None:
    store.put_bytes("site_a/2026-01-02/patients.csv", b"id,name\n1,Ann\n2,Bob\n")
    store.put_bytes("site_a/2026-01-02/sub/deep.txt", b"deep")
    store.put_bytes("site_a/2026-01-03/x.csv", b"x")
    store.put_bytes("site_b/2026-01-02/y.csv", b"yy")
    store.put_bytes("top.txt", b"top")


# -- the contract -------------------------------------------------------------------------------------
def test_list_prefixes_one_level_no_files(store):
    seed(store)
    assert store.list_prefixes("") == ["site_a", "site_b"]
    assert store.list_prefixes("site_a") == ["2026-01-02", "2026-01-03"]
    assert store.list_prefixes("site_a/2026-01-02") == ["sub"]
    assert store.list_prefixes("nope") == []


def test_list_objects_recursive_and_flat(store):
    seed(store)
    keys = sorted(o.key for o in store.list_objects(""))
    assert keys == [
        "site_a/2026-01-02/patients.csv",
        "site_a/2026-01-02/sub/deep.txt",
        "site_a/2026-01-03/x.csv",
        "site_b/2026-01-02/y.csv",
        "top.txt",
    ]
    flat = sorted(o.key for o in store.list_objects("site_a/2026-01-02", recursive=False))
    assert flat == ["site_a/2026-01-02/patients.csv"]
    assert [o.key for o in store.list_objects("", recursive=False)] == ["top.txt"]
    assert list(store.list_objects("missing/folder")) == []
    obj = next(o for o in store.list_objects("site_b"))
    assert (obj.size, obj.name) == (2, "y.csv") and obj.mtime > 0 and obj.version


def test_stat(store):
    seed(store)
    obj = store.stat("site_a/2026-01-02/patients.csv")
    assert obj is not None and obj.size == 20 and obj.key == "site_a/2026-01-02/patients.csv"
    assert abs(obj.mtime - time.time()) < 3600
    assert store.stat("site_a/2026-01-02/missing.csv") is None
    assert store.exists("top.txt") and not store.exists("nope.txt")


def test_read_range(store):
    seed(store)
    key = "site_a/2026-01-02/patients.csv"
    assert store.read_range(key, 0, 7) == b"id,name"
    assert store.read_range(key, 8, 5) == b"1,Ann"
    assert store.read_range(key, 14, 1000) == b"2,Bob\n"
    assert store.read_range(key, 1000, 10) == b""
    assert store.read_range(key, 0, 0) == b""
    assert store.read_bytes(key) == b"id,name\n1,Ann\n2,Bob\n"
    with pytest.raises(StoreError):
        store.read_bytes("site_a/2026-01-02/missing.csv")


def test_download_is_atomic(store, tmp_path):
    seed(store)
    dest = tmp_path / "out" / "p.csv"
    assert store.download("site_a/2026-01-02/patients.csv", dest) == dest
    assert dest.read_bytes() == b"id,name\n1,Ann\n2,Bob\n"
    assert not dest.with_name("p.csv.part").exists()
    # LocalStore lets FileNotFoundError through; S3 and SFTP raise StoreError.
    with pytest.raises((StoreError, FileNotFoundError)):
        store.download("site_a/2026-01-02/missing.csv", tmp_path / "out" / "m.csv")
    assert not (tmp_path / "out" / "m.csv.part").exists()


def test_upload_overwrite_leaves_no_partial(store, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(300_000))
    store.upload(src, "site_c/2026-02-01/blob.bin")
    assert store.read_bytes("site_c/2026-02-01/blob.bin") == src.read_bytes()
    src.write_bytes(b"second")
    store.upload(src, "site_c/2026-02-01/blob.bin")
    assert store.read_bytes("site_c/2026-02-01/blob.bin") == b"second"
    assert [o.key for o in store.list_objects("site_c")] == ["site_c/2026-02-01/blob.bin"]


def test_copy_move_delete(store):
    seed(store)
    store.copy("site_b/2026-01-02/y.csv", "archive/y.csv")
    assert store.read_bytes("archive/y.csv") == b"yy"
    assert store.exists("site_b/2026-01-02/y.csv")
    store.move("archive/y.csv", "quarantine/site_b/y.csv")
    assert not store.exists("archive/y.csv")
    assert store.read_bytes("quarantine/site_b/y.csv") == b"yy"
    store.delete("quarantine/site_b/y.csv")
    assert not store.exists("quarantine/site_b/y.csv")
    store.delete("quarantine/site_b/y.csv")  # missing is not an error


@pytest.mark.parametrize("key", ["../outside.txt", "site_a/../../outside.txt", "/etc/passwd"])
def test_escaping_keys_rejected(store, tmp_path, key):
    seed(store)
    src = tmp_path / "s.txt"
    src.write_bytes(b"x")
    with pytest.raises(StoreError):
        store.read_range(key, 0, 10)
    with pytest.raises(StoreError):
        store.download(key, tmp_path / "d.txt")
    with pytest.raises(StoreError):
        store.upload(src, key)
    with pytest.raises(StoreError):
        store.delete(key)
    with pytest.raises(StoreError):
        store.copy("top.txt", key)


def test_describe_has_no_secrets(store):
    text = store.describe()
    assert "testing" not in text and "PRIVATE" not in text
    assert text.split("://")[0] in ("file", "s3", "sftp")


# -- S3 specifics -------------------------------------------------------------------------------------
def test_s3_describe_and_prefix_isolation(s3_bucket):
    client, bucket = s3_bucket
    client.put_object(Bucket=bucket, Key="other/a.txt", Body=b"not mine")
    st = S3Store(client, bucket, prefix="/drops/")
    assert st.describe() == f"s3://{bucket}/drops"
    st.put_bytes("site_a/2026-01-01/a.csv", b"a")
    assert client.head_object(Bucket=bucket, Key="drops/site_a/2026-01-01/a.csv")["ContentLength"] == 1
    assert [o.key for o in st.list_objects("")] == ["site_a/2026-01-01/a.csv"]
    assert st.list_prefixes("") == ["site_a"]


def test_s3_pagination_and_etag(s3_server, s3_bucket):
    _, bucket = s3_bucket
    client = s3_server.client()  # its own client: the event hook below must not leak into other tests
    calls = []

    def small_pages(params, **kwargs):
        params["MaxKeys"] = 2
        calls.append(params.get("Prefix"))

    client.meta.events.register("before-parameter-build.s3.ListObjectsV2", small_pages)
    st = S3Store(client, bucket)
    for i in range(5):
        st.put_bytes(f"site_{i}/2026-01-01/f.csv", b"same")
        st.put_bytes(f"site_0/2026-01-0{i + 1}/g.csv", b"g")
    assert st.list_prefixes("") == [f"site_{i}" for i in range(5)]
    assert len(list(st.list_objects(""))) == 10
    assert len(calls) >= 3 + 5  # several pages each
    a, b = st.stat("site_1/2026-01-01/f.csv"), st.stat("site_2/2026-01-01/f.csv")
    assert a.version == b.version  # same content, same ETag
    ranged = [o.key for o in st.list_folder_range("site_0", "2026-01-02", "2026-01-04")]
    assert ranged == [f"site_0/2026-01-0{i}/g.csv" for i in (2, 3, 4)]


# -- SFTP specifics -----------------------------------------------------------------------------------
def _connect(server, root, **kwargs) -> SftpStore:
    args = {
        "host": server.host,
        "port": server.port,
        "username": server.username,
        "key_file": server.key_file,
        "known_hosts": server.known_hosts,
        "root": str(root),
        "timeout": 3,
        "retries": 3,
        "backoff": 0.5,
    }
    args.update(kwargs)
    return SftpStore.connect(**args)


def test_sftp_describe(sftp_server, sftp_root):
    with _connect(sftp_server, sftp_root) as st:
        assert st.describe() == f"sftp://{sftp_server.username}@127.0.0.1:{sftp_server.port}{sftp_root}"


def test_sftp_wrong_host_key_is_not_retried(sftp_server, sftp_root, tmp_path):
    other = ssh_keygen(tmp_path / "other_host_key")
    known = write_known_hosts(
        tmp_path / "known_hosts", sftp_server.host, sftp_server.port, Path(f"{other}.pub").read_text()
    )
    start = time.monotonic()
    with pytest.raises(StoreError) as err:
        _connect(sftp_server, sftp_root, known_hosts=known)
    assert time.monotonic() - start < 0.5  # backoff is 0.5 s: no retry happened
    text = str(err.value)
    assert "host key mismatch" in text and "not retried" in text
    assert f"127.0.0.1:{sftp_server.port}" in text


def test_sftp_unknown_host_is_rejected(sftp_server, sftp_root, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    start = time.monotonic()
    with pytest.raises(StoreError, match="not in known_hosts"):
        _connect(sftp_server, sftp_root, known_hosts=empty)
    assert time.monotonic() - start < 0.5


def test_sftp_unknown_client_key_is_rejected(sftp_server, sftp_root, tmp_path):
    stranger = ssh_keygen(tmp_path / "stranger")
    start = time.monotonic()
    with pytest.raises(StoreError) as err:
        _connect(sftp_server, sftp_root, key_file=stranger)
    assert time.monotonic() - start < 2
    text = str(err.value)
    assert "authentication failed" in text and str(stranger) in text
    secret = stranger.read_text()
    assert "PRIVATE KEY" not in text and secret.splitlines()[1] not in text


def test_sftp_closed_port_retries_then_clear_error(sftp_server, sftp_root):
    port = free_port()
    start = time.monotonic()
    with pytest.raises(StoreError) as err:
        _connect(sftp_server, sftp_root, port=port, timeout=1, retries=2, backoff=0.05)
    elapsed = time.monotonic() - start
    assert 0.15 <= elapsed < 5  # two backoffs (0.05 + 0.1) were slept
    text = str(err.value)
    assert "after 3 attempt(s)" in text and f"port {port}" in text and "host 127.0.0.1" in text
    assert str(sftp_server.key_file) in text and "PRIVATE KEY" not in text


def test_sftp_reconnects_after_dropped_connection(sftp_server, sftp_root):
    with _connect(sftp_server, sftp_root, backoff=0.05) as st:
        st.put_bytes("site_a/2026-01-01/a.csv", b"a")
        st._client.get_transport().close()  # the network dropped us
        assert st.list_prefixes("") == ["site_a"]
        assert st.read_bytes("site_a/2026-01-01/a.csv") == b"a"


def test_sftp_missing_root_is_a_clear_error(sftp_server, sftp_root):
    with pytest.raises(StoreError, match="root folder"):
        _connect(sftp_server, sftp_root / "does-not-exist")


def test_sftp_symlinks_are_not_data(sftp_server, sftp_root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    with _connect(sftp_server, sftp_root) as st:
        st.put_bytes("site_a/2026-01-01/real.csv", b"real")
        os.symlink(outside, sftp_root / "site_a" / "linked_dir")
        os.symlink(outside / "secret.txt", sftp_root / "site_a" / "2026-01-01" / "link.csv")
        assert st.list_prefixes("site_a") == ["2026-01-01"]
        assert [o.key for o in st.list_objects("")] == ["site_a/2026-01-01/real.csv"]
        assert st.stat("site_a/2026-01-01/link.csv") is None
        for key in ("site_a/2026-01-01/link.csv", "site_a/linked_dir/secret.txt"):
            with pytest.raises(StoreError, match="symlink"):
                st.read_range(key, 0, 10)
            with pytest.raises(StoreError, match="symlink"):
                st.download(key, tmp_path / "d.txt")
        with pytest.raises(StoreError, match="symlink"):
            list(st.list_objects("site_a/linked_dir"))


def test_sftp_upload_never_writes_through_a_planted_partial_link(sftp_server, sftp_root, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    (sftp_root / "site_a").mkdir()
    os.symlink(victim, sftp_root / "site_a" / "a.csv.part")
    with _connect(sftp_server, sftp_root) as st:
        st.put_bytes("site_a/a.csv", b"new data")
        assert st.read_bytes("site_a/a.csv") == b"new data"
    assert victim.read_text() == "untouched"
    assert not (sftp_root / "site_a" / "a.csv.part").exists()
