/*
description: >-
  Seed 003's canonical names: one display name per facility id and per station (by its device
  serial) of each site, so that a renamed station or a facility spelt two ways does not split a chart.
  The rule: an override in vault.ref_display_name (rules/vault/references.yaml), else the most recent
  name the sources sent, then the most frequent (most versions), then the first alphabetically.
grain: [site, kind, id]
owner: data engineering
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_facility, vault.sat_facility_name_details__history, vault.hub_station, vault.sat_station_device_details__history, vault.ref_display_name]
columns:
  site: site code
  kind: facility or station
  id: the facility id, or the station's device serial
  display_name: the name every report shows
  chosen_by: override, most recent, or only name
  names_seen: how many different names the sources sent for it
checks:
  - name: one_name_each
    description: Every facility and station has exactly one display name.
    sql: |
      SELECT count(*) = count(DISTINCT (site, kind, id)) AS passed, count(*) AS names
      FROM marts.display_names
*/
WITH candidates AS (
    SELECT h.site, 'facility' AS kind, h.facility_id AS id, s.facility_name AS name,
           max(s.effective_ts) AS last_seen, count(*) AS versions
    FROM vault.hub_facility h
    JOIN vault.sat_facility_name_details__history s ON s.hk_facility = h.hk_facility
    WHERE s.facility_name IS NOT NULL
    GROUP BY ALL
    UNION ALL
    SELECT st.site, 'station' AS kind, d.device_serial AS id, st.station_name AS name,
           max(d.effective_ts) AS last_seen, count(*) AS versions
    FROM vault.hub_station st
    JOIN vault.sat_station_device_details__history d ON d.hk_station = st.hk_station
    WHERE d.device_serial IS NOT NULL
    GROUP BY ALL
),
ranked AS (
    SELECT *,
           row_number() OVER (PARTITION BY site, kind, id ORDER BY last_seen DESC, versions DESC, name) AS rank,
           count(*) OVER (PARTITION BY site, kind, id) AS names_seen
    FROM candidates
)
SELECT r.site, r.kind, r.id,
       coalesce(o.name, r.name) AS display_name,
       CASE WHEN o.name IS NOT NULL THEN 'override' WHEN r.names_seen = 1 THEN 'only name' ELSE 'most recent' END
           AS chosen_by,
       r.names_seen
FROM ranked r
LEFT JOIN vault.ref_display_name o ON o.kind = r.kind AND o.site = r.site AND o.id = r.id
WHERE r.rank = 1
ORDER BY r.site, r.kind, r.id
