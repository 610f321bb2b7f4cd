-- marts.fact_series as it read the vault's __current views before the star read the PIT tables (issue 11):
-- the oracle of tests/test_marts_ghosts.py.
WITH files AS (
    SELECT li.hk_series, count(*) AS images, CAST(coalesce(sum(f.file_size), 0) AS BIGINT) AS bytes
    FROM (SELECT DISTINCT hk_series, hk_instance FROM vault.link_series_instance) li
    LEFT JOIN vault.sat_instance_file_details__current f ON f.hk_instance = li.hk_instance
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
JOIN vault.sat_series_acquisition_details__current a ON a.hk_series = se.hk_series
LEFT JOIN study ON study.hk_series = se.hk_series
LEFT JOIN station ON station.hk_series = se.hk_series
LEFT JOIN files ON files.hk_series = se.hk_series
ORDER BY se.site, series_key
