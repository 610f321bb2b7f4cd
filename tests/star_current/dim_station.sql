-- marts.dim_station as it read the vault's __current views before the star read the PIT tables (issue 11):
-- the oracle of tests/test_marts_ghosts.py.
SELECT hex(st.hk_station) AS station_key, st.site, st.station_name,
       coalesce(n.display_name, st.station_name) AS display_name,
       d.manufacturer, d.model, d.modality
FROM vault.hub_station st
LEFT JOIN vault.sat_station_device_details__current d ON d.hk_station = st.hk_station
LEFT JOIN marts.display_names n ON n.kind = 'station' AND n.site = st.site AND n.id = d.device_serial
WHERE NOT is_ghost(st.hk_station)
ORDER BY st.site, st.station_name
