"""Shared fixtures. Real-server fixtures (moto S3, OpenSSH sshd) live in tests/servers.py."""

from tests.agent_support import mariadb, postgres  # noqa: E402,F401 - the PACS database fixtures
from tests.servers import *  # noqa: F401,F403
