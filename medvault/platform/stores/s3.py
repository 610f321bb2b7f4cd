"""S3 store over a plain boto3 client (AWS, MinIO, Ceph, moto: anything with an `endpoint_url`).

Why a plain client: dagster-aws's `S3Resource.get_client()` returns one, so the Dagster layer builds the
client from configuration and this module never imports dagster.

Behaviour worth knowing:
- Keys are relative to `prefix`; a key with a `..` segment or a leading `/` is rejected (`StoreError`),
  like the local store, even though S3 itself would accept it.
- `list_prefixes` asks S3 for CommonPrefixes with `Delimiter='/'`: no file is listed.
- S3 has no symlinks and writes are atomic (an object is visible only once its upload completed), so
  `upload` writes the final key directly; `download` still writes `dest.part` and renames.
- `version` of a listed object is its ETag: an identical re-upload keeps the version (not new work).
- Retries of throttling and network errors are boto3's own (configure them on the client).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from medvault.platform.stores.base import ObjectStore, StoredObject, StoreError

# copy_object copies at most 5 GiB in one request; larger objects need a multipart copy.
_MAX_SINGLE_COPY = 5 * 1024**3


def _is_not_found(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("404", "NoSuchKey", "NotFound") or status == 404


def _is_invalid_range(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code == "InvalidRange" or status == 416


def _error_text(exc: Exception) -> str:
    """The S3 error code and message, never request signatures or credentials."""
    response = getattr(exc, "response", None)
    if response:
        err = response.get("Error", {})
        return f"{err.get('Code', '?')}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


class S3Store(ObjectStore):
    """Objects under `s3://bucket/prefix`."""

    kind = "s3"
    # boto3 clients are thread-safe: the drop scan may list several sites at once (S3 is latency-bound).
    max_concurrency = 8

    def __init__(self, client, bucket: str, prefix: str = ""):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    # -- naming -------------------------------------------------------------------------------
    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def _check(self, key: str) -> str:
        if key.startswith("/") or "\\" in key or any(p == ".." for p in key.split("/")):
            raise StoreError(f"{self.describe()}: {key!r} escapes the store root")
        return key.strip("/")

    def _full(self, key: str) -> str:
        key = self._check(key)
        if not self.prefix:
            return key
        return f"{self.prefix}/{key}" if key else self.prefix

    def _folder(self, prefix: str) -> str:
        """The S3 prefix for a folder key ('' -> the store prefix), with a trailing '/' when non-empty."""
        full = self._full(prefix)
        return f"{full}/" if full else ""

    def _rel(self, full_key: str) -> str:
        if self.prefix:
            return full_key[len(self.prefix) + 1 :]
        return full_key

    def _fail(self, op: str, key: str, exc: Exception) -> StoreError:
        return StoreError(f"{self.describe()}: {op} {key!r} failed: {_error_text(exc)}")

    def _obj(self, full_key: str, size: int, last_modified, etag: str | None) -> StoredObject:
        mtime = last_modified.timestamp() if last_modified is not None else 0.0
        return StoredObject(key=self._rel(full_key), size=int(size), mtime=mtime, etag=etag)

    # -- listing ------------------------------------------------------------------------------
    def list_level(self, prefix: str = "") -> tuple[list[str], list[StoredObject]]:
        """Child folders and the files directly in `prefix`, in one delimited listing.

        The drop scan uses this (when a store has it) to see stray files at root and site level without
        a second request per folder.
        """
        folder = self._folder(prefix)
        prefixes: list[str] = []
        objects: list[StoredObject] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=folder, Delimiter="/"
            )
            for page in pages:
                for cp in page.get("CommonPrefixes", []) or []:
                    name = cp["Prefix"][len(folder) :].rstrip("/")
                    if name:
                        prefixes.append(name)
                for item in page.get("Contents", []) or []:
                    if item["Key"].endswith("/"):  # a "folder" placeholder object, not data
                        continue
                    objects.append(
                        self._obj(item["Key"], item["Size"], item.get("LastModified"), item.get("ETag"))
                    )
        except Exception as exc:  # botocore ClientError / BotoCoreError
            raise self._fail("list", prefix, exc) from exc
        return sorted(prefixes), sorted(objects, key=lambda o: o.key)

    def list_folder_range(self, parent: str, first: str, last: str) -> Iterator[StoredObject]:
        """Files (recursively) in the child folders of `parent` named `first`..`last` (inclusive, by
        name), in one paginated listing instead of one per folder.

        The drop scan lists a site's look-back window this way: `Prefix` is narrowed to the common
        prefix of both ends and `StartAfter` skips everything before `first`.
        """
        base = self._folder(parent)
        self._check(first)
        self._check(last)
        start = base + first
        prefix = os.path.commonprefix([start, base + last + "/"])
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, StartAfter=start
            )
            for page in pages:
                for item in page.get("Contents", []) or []:
                    key = item["Key"]
                    folder, sep, _ = key[len(base) :].partition("/")
                    if not sep or key.endswith("/") or not (first <= folder <= last):
                        continue
                    yield self._obj(key, item["Size"], item.get("LastModified"), item.get("ETag"))
        except Exception as exc:
            raise self._fail("list", f"{parent}/{first}..{last}", exc) from exc

    def list_prefixes(self, prefix: str = "") -> list[str]:
        return self.list_level(prefix)[0]

    def list_objects(self, prefix: str = "", recursive: bool = True) -> Iterator[StoredObject]:
        if not recursive:
            yield from self.list_level(prefix)[1]
            return
        folder = self._folder(prefix)
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder)
            for page in pages:
                for item in page.get("Contents", []) or []:
                    if item["Key"].endswith("/"):
                        continue
                    yield self._obj(item["Key"], item["Size"], item.get("LastModified"), item.get("ETag"))
        except StoreError:
            raise
        except Exception as exc:
            raise self._fail("list", prefix, exc) from exc

    # -- single objects -----------------------------------------------------------------------
    def stat(self, key: str) -> StoredObject | None:
        full = self._full(key)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=full)
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise self._fail("stat", key, exc) from exc
        return self._obj(full, head["ContentLength"], head.get("LastModified"), head.get("ETag"))

    def read_range(self, key: str, start: int, length: int) -> bytes:
        full = self._full(key)
        if length <= 0:
            return b""
        try:
            resp = self.client.get_object(
                Bucket=self.bucket, Key=full, Range=f"bytes={start}-{start + length - 1}"
            )
            with resp["Body"] as body:
                return body.read()
        except Exception as exc:
            if _is_invalid_range(exc):  # start at or past the end of the object
                return b""
            raise self._fail("read", key, exc) from exc

    def download(self, key: str, dest: Path) -> Path:
        full = self._full(key)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=full)
            with resp["Body"] as body, open(tmp, "wb") as fh:
                shutil.copyfileobj(body, fh, 1024 * 1024)
            os.replace(tmp, dest)
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            raise self._fail("download", key, exc) from exc
        return dest

    def upload(self, src: Path, key: str) -> None:
        full = self._full(key)
        try:
            # upload_file switches to multipart for large files; the object appears only when complete.
            self.client.upload_file(str(src), self.bucket, full)
        except Exception as exc:
            raise self._fail("upload", key, exc) from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        full = self._full(key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=full, Body=data)
        except Exception as exc:
            raise self._fail("upload", key, exc) from exc

    def copy(self, src_key: str, dest_key: str) -> None:
        src, dest = self._full(src_key), self._full(dest_key)
        obj = self.stat(src_key)
        if obj is None:
            raise StoreError(f"{self.describe()}: copy {src_key!r} failed: it does not exist")
        try:
            if obj.size <= _MAX_SINGLE_COPY:
                self.client.copy_object(
                    Bucket=self.bucket, Key=dest, CopySource={"Bucket": self.bucket, "Key": src}
                )
            else:  # managed multipart copy
                self.client.copy({"Bucket": self.bucket, "Key": src}, self.bucket, dest)
        except Exception as exc:
            raise self._fail(f"copy to {dest_key!r} from", src_key, exc) from exc

    def move(self, src_key: str, dest_key: str) -> None:
        """Copy then delete: S3 has no rename. A crash in between leaves both (never neither)."""
        self.copy(src_key, dest_key)
        self.delete(src_key)

    def delete(self, key: str) -> None:
        full = self._full(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full)
        except Exception as exc:
            if _is_not_found(exc):
                return
            raise self._fail("delete", key, exc) from exc
