/*
description: >-
  Seed 000's device usage: per acquisition device (station) its maker, model and modality, and the
  series and images it produced, per site. Seed 000 names the report (device_usage_<Mon-DD-YYYY>.csv)
  without its SQL; this counts what the station and series tables hold.
grain: [site, station_name]
owner: imaging analytics
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_station, vault.sat_station_device_details__current, vault.link_series_station, vault.link_series_instance]
columns:
  site: site code
  station_name: the device's station name
  manufacturer: its manufacturer, as the PACS station list has it
  model: its model name
  modality: the modality it acquires
  series: series acquired on it
  images: images of those series
counts: [series, images]   # suppressed below MEDVAULT_SMALL_COUNT when published
checks:
  - name: every_station_listed
    description: Every station hub key of a site is one row, even a station without series.
    sql: |
      WITH stations AS (SELECT count(*) AS n FROM vault.hub_station WHERE NOT is_ghost(hk_station))
      SELECT (SELECT count(*) FROM marts.device_usage) = (SELECT n FROM stations) AS passed,
             (SELECT count(*) FROM marts.device_usage) AS rows_in_mart,
             (SELECT n FROM stations) AS stations_in_vault
*/
SELECT st.site,
       st.station_name,
       any_value(d.manufacturer) AS manufacturer,
       any_value(d.model) AS model,
       any_value(d.modality) AS modality,
       count(DISTINCT ls.hk_series) AS series,
       count(DISTINCT li.hk_instance) AS images
FROM vault.hub_station st
LEFT JOIN vault.sat_station_device_details__current d ON d.hk_station = st.hk_station
LEFT JOIN vault.link_series_station ls ON ls.hk_station = st.hk_station
LEFT JOIN vault.link_series_instance li ON li.hk_series = ls.hk_series
WHERE NOT is_ghost(st.hk_station)
GROUP BY st.hk_station, st.site, st.station_name
ORDER BY st.site, st.station_name
