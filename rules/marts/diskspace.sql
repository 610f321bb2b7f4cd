/*
description: >-
  Seed 000's disk space: gigabytes of image files per department, per site (its SQL: SELECT
  se.department AS store_no, ROUND(SUM(fi.file_size)/(1024*1024*1024), 2) AS diskspace_GB FROM series
  JOIN instance JOIN files GROUP BY se.department). A series' department is its station's
  (series -> station -> location); an instance whose series has none counts under a NULL department.
grain: [site, store_no]
owner: imaging analytics
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.link_series_instance, vault.hub_instance, vault.sat_instance_file_details__current, vault.link_series_station, vault.link_station_location, vault.hub_location]
columns:
  site: site code
  store_no: the department (seed 000's name for it)
  diskspace_GB: gigabytes (1024^3 bytes) of the department's image files, rounded to 2 decimals
  diskspace_MB: the same in megabytes (1024^2 bytes), rounded to 1 decimal
  bytes: the same in bytes, unrounded
  instances: image files counted
counts: [instances]   # suppressed below MEDVAULT_SMALL_COUNT when published
checks:
  - name: bytes_counted_once
    description: Per site, the departments add up to the file sizes of every instance with a series (no instance under two departments).
    sql: |
      WITH mart AS (SELECT site, sum(bytes) AS bytes FROM marts.diskspace GROUP BY site),
           vault AS (SELECT i.site, sum(f.file_size) AS bytes
                     FROM (SELECT DISTINCT hk_instance FROM vault.link_series_instance WHERE NOT is_ghost(hk_series)) li
                     JOIN vault.hub_instance i ON i.hk_instance = li.hk_instance
                     JOIN vault.sat_instance_file_details__current f ON f.hk_instance = li.hk_instance
                     GROUP BY i.site)
      SELECT count(*) FILTER (WHERE mart.bytes IS DISTINCT FROM vault.bytes) = 0 AS passed,
             coalesce(sum(mart.bytes), 0) AS bytes_in_mart, coalesce(sum(vault.bytes), 0) AS bytes_in_vault
      FROM mart FULL JOIN vault ON vault.site = mart.site
*/
WITH series_department AS (
    SELECT DISTINCT ls.hk_series, loc.location_id AS department
    FROM vault.link_series_station ls
    JOIN vault.link_station_location sl ON sl.hk_station = ls.hk_station
    JOIN vault.hub_location loc ON loc.hk_location = sl.hk_location
    WHERE NOT is_ghost(ls.hk_station) AND NOT is_ghost(sl.hk_location)
),
instance_series AS (
    SELECT DISTINCT hk_series, hk_instance FROM vault.link_series_instance WHERE NOT is_ghost(hk_series)
)
SELECT i.site,
       d.department AS store_no,
       round(sum(f.file_size) / (1024 * 1024 * 1024), 2) AS "diskspace_GB",
       round(sum(f.file_size) / (1024 * 1024), 1) AS "diskspace_MB",
       CAST(sum(f.file_size) AS BIGINT) AS bytes,
       count(*) AS instances
FROM instance_series li
JOIN vault.hub_instance i ON i.hk_instance = li.hk_instance
JOIN vault.sat_instance_file_details__current f ON f.hk_instance = li.hk_instance
LEFT JOIN series_department d ON d.hk_series = li.hk_series
GROUP BY ALL
ORDER BY i.site, store_no NULLS LAST
