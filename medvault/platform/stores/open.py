"""The store factory: every store medvault opens (drops, lake, quarantine, delivery, reports) is built here from Settings.

A location is a local folder, `s3://bucket/prefix` or `sftp://[user@]host[:port]/path`; S3 endpoint and
region and the SFTP key, known_hosts and passphrase come from the settings, never from the URL.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from medvault.platform.config import DROP_STORES, Settings, SftpSettings
from medvault.platform.stores.base import ObjectStore, StoreError
from medvault.platform.stores.local import LocalStore


def boto3_client(settings: Settings):
    """A plain boto3 S3 client; credentials come from the standard AWS variables or an instance role."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=settings.s3.endpoint_url or None, region_name=settings.s3.region or None
    )


class LocationOpener:
    """Opens a location (a folder, `s3://bucket/prefix`, `sftp://user@host:port/path`) with given SFTP
    settings and S3 client: the part of the factory that needs no platform Settings, so the site agent
    opens its destination here too."""

    def __init__(
        self,
        sftp: SftpSettings,
        s3_client: Callable[[], object],
        timeout: float = 10,
        retries: int = 3,
        backoff: float = 0.5,
    ):
        self.sftp = sftp
        self._s3_client = s3_client
        self.timeout, self.retries, self.backoff = timeout, retries, backoff

    def location(self, where: Path | str) -> ObjectStore:
        if isinstance(where, Path) or "://" not in where:
            return self.local(Path(where))
        url = urlsplit(where)
        if url.scheme == "s3":
            return self.s3(url.netloc, url.path.strip("/"))
        if url.scheme == "sftp":
            s = self.sftp
            return self.sftp_store(url.hostname or "", url.port or s.port, url.username or s.user, url.path or "/")
        raise StoreError(f"{url.scheme}:// locations are not supported (use a folder, s3:// or sftp://)")

    @staticmethod
    def local(root: Path) -> LocalStore:
        root.mkdir(parents=True, exist_ok=True)
        return LocalStore(root)

    def s3(self, bucket: str, prefix: str) -> ObjectStore:
        from medvault.platform.stores.s3 import S3Store

        return S3Store(self._s3_client(), bucket, prefix)

    def sftp_store(self, host: str, port: int, user: str, root: str) -> ObjectStore:
        from medvault.platform.stores.sftp import SftpStore

        s = self.sftp
        return SftpStore.connect(
            host=host,
            port=port,
            username=user,
            key_file=s.key_file,
            known_hosts=s.known_hosts,
            root=root,
            passphrase=s.key_passphrase or None,
            timeout=self.timeout,
            retries=self.retries,
            backoff=self.backoff,
        )


class StoreFactory:
    """Opens stores; the caller closes them (SFTP holds a connection)."""

    def __init__(self, settings: Settings, s3_client: Callable[[], object] | None = None):
        self.settings = settings
        self._s3_client = s3_client or (lambda: boto3_client(settings))
        self._opener = LocationOpener(settings.sftp, self._s3_client)

    def drops(self, name: str) -> ObjectStore:
        """One of the drop stores of MEDVAULT_STORES."""
        s = self.settings
        if name == "local":
            return self._local(s.drops)
        if name == "s3":
            if not s.s3.bucket:
                raise StoreError("the s3 drop store needs MEDVAULT_S3_BUCKET")
            return self._s3(s.s3.bucket, s.s3.prefix)
        if name == "sftp":
            if not s.sftp.host:
                raise StoreError("the sftp drop store needs MEDVAULT_SFTP_HOST")
            return self._sftp(s.sftp.host, s.sftp.port, s.sftp.user, s.sftp.root)
        raise StoreError(f"unknown drop store {name!r} (MEDVAULT_STORES takes {', '.join(DROP_STORES)})")

    def lake(self) -> ObjectStore:
        return self.location(self.settings.lake)

    def quarantine(self) -> ObjectStore:
        return self.location(self.settings.quarantine)

    def delivery(self) -> ObjectStore:
        """The DICOM pipeline's destination store (MEDVAULT_DELIVERY)."""
        return self.location(self.settings.delivery or self.settings.home / "delivery")

    def reports(self) -> ObjectStore:
        """Where the CSV reports are written (MEDVAULT_REPORTS)."""
        return self.location(self.settings.reports or self.settings.home / "reports")

    def location(self, where: Path | str) -> ObjectStore:
        return self._opener.location(where)

    def _local(self, root: Path) -> LocalStore:
        return self._opener.local(root)

    def _s3(self, bucket: str, prefix: str) -> ObjectStore:
        return self._opener.s3(bucket, prefix)

    def _sftp(self, host: str, port: int, user: str, root: str) -> ObjectStore:
        return self._opener.sftp_store(host, port, user, root)
