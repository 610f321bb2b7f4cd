"""Shared fixtures. Real-server fixtures (moto S3, OpenSSH sshd) live in tests/servers.py."""

from tests.servers import *  # noqa: F401,F403
