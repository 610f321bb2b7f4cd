#!/bin/sh
# Run once by the mariadb image on an empty data volume. The site agent only reads the PACS: a SELECT-only
# account `agent` on the `pacs` database, its password from PACS_AGENT_PASSWORD (docker-compose.yml, from
# .env; letters and digits only, it is quoted into SQL here).
set -eu
mariadb --protocol=socket -uroot -p"$MARIADB_ROOT_PASSWORD" <<SQL
CREATE DATABASE IF NOT EXISTS pacs CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'agent'@'%' IDENTIFIED BY '${PACS_AGENT_PASSWORD}';
GRANT SELECT ON pacs.* TO 'agent'@'%';
SQL
