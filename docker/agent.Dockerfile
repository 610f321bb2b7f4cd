# syntax=docker/dockerfile:1
# The medvault site agent (`medvault agent once|schedule|check`, docs/agent.md): extracts a site's PACS
# database and pushes the drops to the central SFTP server or S3 bucket. No Dagster, no DuckDB: only the
# `agent` extra (the PostgreSQL/MySQL drivers) on top of the base (pyyaml, paramiko, boto3).
#
# Build from the repository root:  docker build -f docker/agent.Dockerfile -t medvault-agent .
# The development machines reach no image registry, so this image is not built there:
# tests/test_packaging.py checks instead that every COPY source exists, that the entrypoint runs in the
# project's venv, that no Dagster is installed and that every MEDVAULT_ variable set is a documented one.
#
# Settings are MEDVAULT_AGENT_* variables (README, `medvault config`); secrets (MEDVAULT_AGENT_DB_PASSWORD,
# MEDVAULT_AGENT_SFTP_KEY_PASSPHRASE, AWS_*) come from the environment at run time, never from this file.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# pyproject.toml names README.md as the readme and LICENSE is its license file: the build needs both.
COPY pyproject.toml README.md LICENSE ./
COPY medvault/ medvault/
# setup.py (the C extension of the DICOM header walker, which the agent never uses) is not copied.
RUN python -m venv /opt/venv && /opt/venv/bin/pip install ".[agent]"

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/medvault-agent --shell /usr/sbin/nologin medvault \
    && mkdir -p /var/lib/medvault-agent \
    && chown medvault:medvault /var/lib/medvault-agent \
    && chmod 700 /var/lib/medvault-agent
COPY --from=build /opt/venv /opt/venv
COPY rules/agent/ /app/rules/agent/
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MEDVAULT_AGENT_RULES=/app/rules/agent \
    MEDVAULT_AGENT_STATE=/var/lib/medvault-agent
# watermarks, the outbox of a push not yet complete (patient rows: owner-only) and the lock
VOLUME /var/lib/medvault-agent
# numeric, so a runtime can verify it is not root (Kubernetes runAsNonRoot)
USER 10001:10001
# `schedule` finishes the push under way on SIGTERM, then exits: give `docker stop` time (-t / stop_grace_period).
ENTRYPOINT ["medvault", "agent"]
CMD ["schedule"]
