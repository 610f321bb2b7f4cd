/*
description: >-
  One row per bed and day a patient occupied it (the bed-patient effectivity satellite): seed 003's bed
  occupancy at the grain of a day, with the bed's ward. An occupation still open counts up to the newest
  day the site's bed extract covers.
grain: [site, bed_id, day]
owner: hospital operations
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.sat_bed_person_effectivity__history, vault.hub_bed, vault.hub_person, vault.link_bed_location, vault.hub_location]
columns:
  site: site code
  bed_id: the HIS bed id
  ward: its ward
  day: a day the bed was occupied
  patient_key: who occupied it (pseudonym, marts.dim_patient)
checks:
  - name: one_patient_per_bed_and_day
    description: No bed holds two patients on one day (the effectivity satellite's driving key is the bed).
    sql: |
      SELECT count(*) = count(DISTINCT (site, bed_id, day)) AS passed, count(*) AS bed_days FROM marts.fact_bed_day
*/
WITH horizon AS (
    SELECT b.site, CAST(max(e.effective_ts) AS DATE) AS last_day
    FROM vault.sat_bed_person_effectivity__history e JOIN vault.hub_bed b ON b.hk_bed = e.hk_bed
    GROUP BY b.site
),
stays AS (
    SELECT b.site, b.bed_id, e.hk_bed, pseudonym(p.site, p.person_id) AS patient_key,
           CAST(e.effective_ts AS DATE) AS first_day,
           coalesce(CAST(e.effective_to AS DATE) - 1, h.last_day) AS last_day
    FROM vault.sat_bed_person_effectivity__history e
    JOIN vault.hub_bed b ON b.hk_bed = e.hk_bed
    JOIN vault.hub_person p ON p.hk_person = e.hk_person
    JOIN horizon h ON h.site = b.site
),
ward AS (
    SELECT bl.hk_bed, min(l.location_id) AS ward
    FROM vault.link_bed_location bl JOIN vault.hub_location l ON l.hk_location = bl.hk_location
    GROUP BY bl.hk_bed
)
SELECT s.site, s.bed_id, ward.ward, d.day, s.patient_key
FROM stays s
CROSS JOIN LATERAL (SELECT CAST(unnest(generate_series(s.first_day, greatest(s.first_day, s.last_day), INTERVAL 1 DAY)) AS DATE) AS day) d
LEFT JOIN ward ON ward.hk_bed = s.hk_bed
ORDER BY s.site, s.bed_id, d.day, s.patient_key
