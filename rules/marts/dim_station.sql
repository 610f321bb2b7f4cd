/*
description: >-
  Acquisition devices per site: station name, its display name (marts.display_names), manufacturer,
  model and modality as the PACS station list has them at the snapshot (the station's newest PIT row).
grain: [station_key]
owner: imaging analytics
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_station, vault.pit_station, vault.sat_station_device_details__history, marts.display_names]
columns:
  station_key: the station's key in the star (its vault hash key, hex)
  site: site code
  station_name: the PACS station name
  display_name: the device's display name (one per device serial)
  manufacturer: manufacturer
  model: model name
  modality: modality it acquires
checks:
  - name: every_station_once
    sql: |
      SELECT (SELECT count(*) FROM marts.dim_station) = (SELECT count(*) FROM vault.hub_station WHERE NOT is_ghost(hk_station))
             AND (SELECT count(DISTINCT station_key) FROM marts.dim_station) = (SELECT count(*) FROM marts.dim_station) AS passed
*/
WITH device AS (
    -- each station's device details as of the snapshot: its newest PIT row
    SELECT p.hk_station, d.manufacturer, d.model, d.modality, d.device_serial
    FROM vault.pit_station p
    JOIN vault.sat_station_device_details__history d
      ON d.hk_station = p.sat_station_device_details_hk AND d.effective_ts = p.sat_station_device_details_ts
    QUALIFY row_number() OVER (PARTITION BY p.hk_station ORDER BY p.as_of DESC) = 1
)
SELECT hex(st.hk_station) AS station_key, st.site, st.station_name,
       coalesce(n.display_name, st.station_name) AS display_name,
       d.manufacturer, d.model, d.modality
FROM vault.hub_station st
LEFT JOIN device d ON d.hk_station = st.hk_station
LEFT JOIN marts.display_names n ON n.kind = 'station' AND n.site = st.site AND n.id = d.device_serial
WHERE NOT is_ghost(st.hk_station)
ORDER BY st.site, st.station_name
