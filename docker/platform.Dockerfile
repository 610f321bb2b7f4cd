# syntax=docker/dockerfile:1
# The central medvault platform: one image for the Dagster webserver, the daemon and the code location
# (`medvault.definitions`, served by `dagster code-server`), chosen by the command (docker-compose.yml).
# The default command is the webserver; the other two:
#   dagster-daemon run -w /app/workspace.yaml
#   dagster code-server start -h 0.0.0.0 -p 4000 -m medvault.definitions --location-name medvault
#
# Build from the repository root:  docker build -f docker/platform.Dockerfile -t medvault-platform .
# The development machines reach no image registry, so this image is not built there:
# tests/test_packaging.py checks instead that every COPY source exists, that each command runs in the
# project's venv, and that every MEDVAULT_ variable set is a documented one.
#
# The instance (docker/dagster.yaml) keeps runs, events, schedules and the `warehouse` pool in PostgreSQL
# (DAGSTER_PG_* variables), so the three containers share it; runs execute in the code server's container.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# A C compiler for the native DICOM header walker (medvault/platform/dicom/_walk.c, docs/dicom.md), in
# this build stage only: the runtime image gets the built extension inside /opt/venv, not the compiler.
# Without it the install still succeeds (the extension is optional) and headers are read ~4x slower.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# setup.py declares the C extension; pyproject.toml names README.md as the readme and LICENSE as its license
COPY pyproject.toml setup.py README.md LICENSE ./
COPY medvault/ medvault/
# dagster-postgres (not in the `platform` extra: the embedded setup keeps the instance in SQLite) matches
# dagster 1.13; it brings psycopg2-binary, which docker/dagster.yaml selects (scheme postgresql+psycopg2).
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install ".[platform]" "dagster-postgres>=0.29,<0.30"

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/medvault --shell /usr/sbin/nologin medvault \
    && mkdir -p /var/lib/medvault /opt/dagster \
    && chown medvault:medvault /var/lib/medvault /opt/dagster \
    && chmod 700 /var/lib/medvault /opt/dagster
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY rules/ /app/rules/
COPY docker/workspace.yaml /app/workspace.yaml
COPY --chown=medvault:medvault docker/dagster.yaml /opt/dagster/dagster.yaml
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster \
    MEDVAULT_HOME=/var/lib/medvault \
    MEDVAULT_RULES=/app/rules
# the warehouse, lake, quarantine, reports, Dagster's compute logs: patient data, owner-only
VOLUME /var/lib/medvault
# numeric, so a runtime can verify it is not root (Kubernetes runAsNonRoot)
USER 10001:10001
EXPOSE 3000 4000
CMD ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "/app/workspace.yaml"]
