/*
description: >-
  One row per image series (PACS series extract): its study, station, modality, body part,
  laterality, and its images and bytes, as of the snapshot (the newest PIT row of the series and of each image).
grain: [series_key]
owner: imaging analytics
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_series, vault.pit_series, vault.sat_series_acquisition_details__history, vault.link_event_series, vault.link_series_station, vault.link_series_instance, vault.pit_instance, vault.sat_instance_file_details__history]
columns:
  series_key: the series' key in the star (its vault hash key, hex)
  site: site code
  study_key: its study (marts.fact_study)
  station_key: its station (marts.dim_station)
  series_number: series number
  modality: modality
  body_part: body part examined
  laterality: laterality
  images: images of the series
  bytes: bytes of their files
counts: [images]
checks:
  - name: every_series_once
    sql: |
      SELECT (SELECT count(*) FROM marts.fact_series) = (SELECT count(DISTINCT hk_series) FROM vault.sat_series_acquisition_details__history WHERE NOT is_ghost(hk_series)) AS passed
*/
WITH acquisition AS (
    -- each series' acquisition details as of the snapshot: its newest PIT row
    SELECT p.hk_series, a.series_number, a.modality, a.body_part, a.laterality
    FROM vault.pit_series p
    JOIN vault.sat_series_acquisition_details__history a
      ON a.hk_series = p.sat_series_acquisition_details_hk AND a.effective_ts = p.sat_series_acquisition_details_ts
    WHERE NOT is_ghost(a.hk_series)
    QUALIFY row_number() OVER (PARTITION BY p.hk_series ORDER BY p.as_of DESC) = 1
),
file AS (
    -- each image's file details as of the snapshot
    SELECT p.hk_instance, f.file_size
    FROM vault.pit_instance p
    JOIN vault.sat_instance_file_details__history f
      ON f.hk_instance = p.sat_instance_file_details_hk AND f.effective_ts = p.sat_instance_file_details_ts
    QUALIFY row_number() OVER (PARTITION BY p.hk_instance ORDER BY p.as_of DESC) = 1
),
files AS (
    SELECT li.hk_series, count(*) AS images, CAST(coalesce(sum(f.file_size), 0) AS BIGINT) AS bytes
    FROM (SELECT DISTINCT hk_series, hk_instance FROM vault.link_series_instance) li
    LEFT JOIN file f ON f.hk_instance = li.hk_instance
    GROUP BY li.hk_series
),
study AS (
    SELECT hk_series, min(hex(hk_event)) AS study_key FROM vault.link_event_series
    WHERE NOT is_ghost(hk_event) GROUP BY hk_series
),
station AS (
    SELECT hk_series, min(hex(hk_station)) AS station_key FROM vault.link_series_station
    WHERE NOT is_ghost(hk_station) GROUP BY hk_series
)
SELECT hex(se.hk_series) AS series_key, se.site, study.study_key, station.station_key,
       a.series_number, a.modality, a.body_part, a.laterality,
       coalesce(files.images, 0) AS images, coalesce(files.bytes, 0) AS bytes
FROM vault.hub_series se
JOIN acquisition a ON a.hk_series = se.hk_series
LEFT JOIN study ON study.hk_series = se.hk_series
LEFT JOIN station ON station.hk_series = se.hk_series
LEFT JOIN files ON files.hk_series = se.hk_series
ORDER BY se.site, series_key
