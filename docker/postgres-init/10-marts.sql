-- Run once by the postgres image on an empty data volume: the database the marts are published to
-- (MEDVAULT_PUBLISH_POSTGRES). The Dagster instance uses POSTGRES_DB (dagster).
CREATE DATABASE marts;
