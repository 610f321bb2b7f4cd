/*
description: >-
  Seed 000's station names: how many series each acquisition station produced, per site (its SQL:
  SELECT DISTINCT(station_name) AS STATION_NAME, COUNT(*) FROM series GROUP BY STATION_NAME). Series
  from the PACS series extract; one without a station counts under a NULL name.
grain: [site, STATION_NAME]
owner: imaging analytics
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_series, vault.sat_series_acquisition_details__current, vault.link_series_station, vault.hub_station]
columns:
  site: site code
  STATION_NAME: the station (DICOM StationName as the PACS lists it)
  COUNT: series of that station
counts: [COUNT]   # suppressed below MEDVAULT_SMALL_COUNT when published
checks:
  - name: series_counted_once
    description: Per site, the stations' counts add up to the series of the PACS extract (no series under two stations).
    sql: |
      WITH mart AS (SELECT site, sum("COUNT") AS series FROM marts.station_names GROUP BY site),
           vault AS (SELECT h.site, count(*) AS series FROM vault.hub_series h
                     JOIN vault.sat_series_acquisition_details__current s ON s.hk_series = h.hk_series
                     GROUP BY h.site)
      SELECT count(*) FILTER (WHERE mart.series IS DISTINCT FROM vault.series) = 0 AS passed,
             coalesce(sum(mart.series), 0) AS series_in_mart, coalesce(sum(vault.series), 0) AS series_in_vault
      FROM mart FULL JOIN vault ON vault.site = mart.site
*/
SELECT se.site,
       st.station_name AS "STATION_NAME",
       count(DISTINCT se.hk_series) AS "COUNT"
FROM vault.hub_series se
JOIN vault.sat_series_acquisition_details__current acq ON acq.hk_series = se.hk_series
LEFT JOIN vault.link_series_station l ON l.hk_series = se.hk_series AND NOT is_ghost(l.hk_station)
LEFT JOIN vault.hub_station st ON st.hk_station = l.hk_station
GROUP BY ALL
ORDER BY se.site, "STATION_NAME" NULLS LAST
