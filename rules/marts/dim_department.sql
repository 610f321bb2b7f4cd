/*
description: >-
  Departments, clinics and wards per site (the location hub), with the display name of the facility
  they belong to, if any.
grain: [department_key]
owner: data engineering
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_location, vault.link_location_facility, vault.hub_facility, marts.display_names]
columns:
  department_key: the department's key in the star (its vault hash key, hex)
  site: site code
  department: its name as the sources send it
  facility: the display name of its facility (the first, when the sources link it to several)
checks:
  - name: every_department_once
    sql: |
      SELECT (SELECT count(*) FROM marts.dim_department)
             = (SELECT count(*) FROM vault.hub_location WHERE NOT is_ghost(hk_location)) AS passed
*/
SELECT hex(l.hk_location) AS department_key, l.site, l.location_id AS department,
       min(coalesce(n.display_name, f.facility_id)) AS facility
FROM vault.hub_location l
LEFT JOIN vault.link_location_facility lf ON lf.hk_location = l.hk_location
LEFT JOIN vault.hub_facility f ON f.hk_facility = lf.hk_facility
LEFT JOIN marts.display_names n ON n.kind = 'facility' AND n.site = f.site AND n.id = f.facility_id
WHERE NOT is_ghost(l.hk_location)
GROUP BY l.hk_location, l.site, l.location_id
ORDER BY l.site, l.location_id
