/*
description: >-
  Series per acquisition device, per site, under the device's display name (marts.display_names): a
  station renamed in the PACS stays one bar. A station without a device serial keeps its station name.
grain: [site, device]
owner: imaging analytics
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.link_series_station, vault.hub_station, vault.sat_station_device_details__current, marts.display_names]
columns:
  site: site code
  device: the device's display name
  series: series acquired on it
counts: [series]
checks:
  - name: series_counted_once
    description: Per site, the devices add up to the series linked to a station.
    sql: |
      WITH mart AS (SELECT site, sum(series) AS n FROM marts.series_per_device GROUP BY site),
           vault AS (SELECT site, count(DISTINCT hk_series) AS n FROM vault.link_series_station
                     WHERE NOT is_ghost(hk_station) GROUP BY site)
      SELECT count(*) FILTER (WHERE mart.n IS DISTINCT FROM vault.n) = 0 AS passed,
             coalesce(sum(mart.n), 0) AS series_in_mart, coalesce(sum(vault.n), 0) AS series_in_vault
      FROM mart FULL JOIN vault ON vault.site = mart.site
*/
WITH device AS (
    SELECT st.hk_station, st.site, coalesce(n.display_name, st.station_name) AS device
    FROM vault.hub_station st
    LEFT JOIN vault.sat_station_device_details__current d ON d.hk_station = st.hk_station
    LEFT JOIN marts.display_names n ON n.kind = 'station' AND n.site = st.site AND n.id = d.device_serial
    WHERE NOT is_ghost(st.hk_station)
)
SELECT dv.site, dv.device, count(DISTINCT l.hk_series) AS series
FROM vault.link_series_station l
JOIN device dv ON dv.hk_station = l.hk_station
GROUP BY ALL
ORDER BY dv.site, series DESC, dv.device
