/*
description: >-
  Seed 003's bed occupancy: per ward and day, the beds occupied (marts.fact_bed_day), the ward's beds
  (the HIS bed list) and the occupancy rate.
grain: [site, ward, day]
owner: hospital operations
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [marts.fact_bed_day, vault.hub_bed, vault.link_bed_location, vault.hub_location]
columns:
  site: site code
  ward: the ward
  day: the day
  occupied: beds occupied that day
  beds: beds of the ward
  occupancy: occupied over beds
counts: [occupied]
checks:
  - name: never_more_than_the_beds
    description: No ward has more beds occupied than it has beds.
    sql: |
      SELECT count(*) FILTER (WHERE occupied > beds) = 0 AS passed, coalesce(max(occupancy), 0) AS highest_occupancy
      FROM marts.bed_occupancy
*/
WITH beds AS (
    SELECT b.site, min(l.location_id) AS ward, b.hk_bed
    FROM vault.hub_bed b
    JOIN vault.link_bed_location bl ON bl.hk_bed = b.hk_bed
    JOIN vault.hub_location l ON l.hk_location = bl.hk_location
    GROUP BY b.site, b.hk_bed
),
ward_beds AS (SELECT site, ward, count(*) AS beds FROM beds GROUP BY site, ward),
occupied AS (SELECT site, ward, day, count(DISTINCT bed_id) AS occupied FROM marts.fact_bed_day GROUP BY site, ward, day)
SELECT o.site, o.ward, o.day, o.occupied, w.beds, round(o.occupied / w.beds, 3) AS occupancy
FROM occupied o
JOIN ward_beds w ON w.site = o.site AND w.ward = o.ward
ORDER BY o.site, o.ward, o.day
