"""Where the agent pushes: `sftp://user@host:port/path`, `s3://bucket/prefix` or a local folder.

The stores are the central platform's own, opened by its factory (`platform/stores/open.py`): key-only SFTP with a pinned host key and
retries with backoff, atomic S3 objects, a local folder that never follows links. Secrets never come
from the URL: the SFTP key file, its passphrase and known_hosts, and the AWS credentials come from the
settings (the environment).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from medvault.platform.config import SftpSettings
from medvault.platform.config.agent import AgentSettings
from medvault.platform.stores.base import ObjectStore, StoreError
from medvault.platform.stores.open import LocationOpener


def describe_destination(to: str) -> str:
    """The destination as it may be logged (a URL has no secret in it; see `open_destination`)."""
    return to if "://" in to else str(Path(to).resolve())


def _s3_client(settings: AgentSettings):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region or None,
        config=Config(
            connect_timeout=settings.timeout,
            read_timeout=settings.timeout,
            retries={"max_attempts": settings.retries + 1, "mode": "standard"},
        ),
    )


def open_destination(settings: AgentSettings) -> ObjectStore:
    """The store for `settings.to`, connected (SFTP fails fast with the reason)."""
    to = settings.to
    opener = LocationOpener(
        SftpSettings(
            key_file=settings.sftp_key_file,
            known_hosts=settings.sftp_known_hosts,
            key_passphrase=settings.sftp_key_passphrase,
        ),
        lambda: _s3_client(settings),
        timeout=settings.timeout,
        retries=settings.retries,
        backoff=settings.backoff,
    )
    if "://" not in to:
        return opener.location(Path(to).resolve())
    parts = urlsplit(to)
    if parts.password is not None:
        raise StoreError(
            "the destination URL holds a password: the agent authenticates with a key (SFTP) or the AWS "
            "variables (S3), never a password in a URL"
        )
    if parts.scheme == "sftp":
        if not parts.hostname or not parts.username:
            raise StoreError(f"SFTP destination {to!r} needs a user and a host: sftp://user@host:port/path")
        if not settings.sftp_key_file or not settings.sftp_known_hosts:
            raise StoreError(
                "an SFTP destination needs MEDVAULT_AGENT_SFTP_KEY_FILE (the site's private key) and "
                "MEDVAULT_AGENT_SFTP_KNOWN_HOSTS (the central server's pinned host key)"
            )
    elif parts.scheme == "s3":
        if not parts.netloc:
            raise StoreError(f"S3 destination {to!r} needs a bucket: s3://bucket/prefix")
    else:
        raise StoreError(
            f"destination {to!r}: use sftp://user@host:port/path, s3://bucket/prefix or a folder"
        )
    return opener.location(to)
