"""The enabled drop stores (local, S3, SFTP) behind one resource; settings come from environment variables."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_aws.s3 import S3Resource

from medvault.platform.stores.base import ObjectStore
from medvault.platform.stores.local import LocalStore


def _secret(value) -> str | None:
    """The secret's value: an unresolved `dg.EnvVar` (a resource used outside a run, as `medvault run`
    does for its scan) is read from the environment here, never its variable name."""
    if isinstance(value, dg.EnvVar):
        value = value.get_value()
    return value or None


class DropStoresResource(dg.ConfigurableResource):
    """Which stores are enabled and how to reach them. Secrets (S3 keys, key passphrase) come only from env."""

    enabled: str = "local"
    local_root: str = ""
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    sftp_host: str = ""
    sftp_port: int = 22
    sftp_user: str = ""
    sftp_key_file: str = ""
    sftp_key_passphrase: str = ""
    sftp_known_hosts: str = ""
    sftp_root: str = "/"

    def names(self) -> list[str]:
        return [n.strip() for n in self.enabled.split(",") if n.strip()]

    def open(self, name: str) -> ObjectStore:
        """Open one store; the caller closes it (SFTP holds a connection)."""
        if name == "local":
            Path(self.local_root).mkdir(parents=True, exist_ok=True)
            return LocalStore(self.local_root)
        if name == "s3":
            from medvault.platform.stores.s3 import S3Store

            s3 = S3Resource(endpoint_url=self.s3_endpoint_url or None, region_name=self.s3_region)
            return S3Store(s3.get_client(), self.s3_bucket, self.s3_prefix)
        if name == "sftp":
            from medvault.platform.stores.sftp import SftpStore

            return SftpStore.connect(
                host=self.sftp_host,
                port=self.sftp_port,
                username=self.sftp_user,
                key_file=self.sftp_key_file,
                known_hosts=self.sftp_known_hosts,
                root=self.sftp_root,
                passphrase=_secret(self.sftp_key_passphrase),
            )
        raise ValueError(f"unknown drop store {name!r} (MEDVAULT_STORES takes local, s3, sftp)")
