/*
description: >-
  Seed 003's top conditions: SMR01 admissions by the ICD-10 chapter of their main condition, per site
  (chapters from the reference table vault.ref_icd10_chapter; a code outside every chapter is
  'unknown').
grain: [site, chapter]
owner: clinical analytics
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_event, vault.sat_event_conditions_details__current, vault.ref_icd10_chapter]
columns:
  site: site code
  chapter: ICD-10 chapter (I to XXII), or unknown
  title: the chapter's title
  admissions: admissions whose main condition is in the chapter
counts: [admissions]
checks:
  - name: conditions_counted_once
    description: Per site, the chapters add up to the admissions with a main condition.
    sql: |
      WITH mart AS (SELECT site, sum(admissions) AS n FROM marts.top_conditions GROUP BY site),
           vault AS (SELECT h.site, count(DISTINCT h.hk_event) AS n FROM vault.hub_event h
                     JOIN vault.sat_event_conditions_details__current s ON s.hk_event = h.hk_event
                     WHERE s.main_condition IS NOT NULL GROUP BY h.site)
      SELECT count(*) FILTER (WHERE mart.n IS DISTINCT FROM vault.n) = 0 AS passed,
             coalesce(sum(mart.n), 0) AS admissions_in_mart, coalesce(sum(vault.n), 0) AS admissions_in_vault
      FROM mart FULL JOIN vault ON vault.site = mart.site
*/
SELECT h.site,
       coalesce(c.chapter, 'unknown') AS chapter,
       coalesce(any_value(c.title), 'code outside the ICD-10 chapters') AS title,
       count(DISTINCT h.hk_event) AS admissions
FROM vault.hub_event h
JOIN vault.sat_event_conditions_details__current s ON s.hk_event = h.hk_event
LEFT JOIN vault.ref_icd10_chapter c
       ON upper(left(s.main_condition, 3)) BETWEEN c.first_code AND c.last_code
WHERE s.main_condition IS NOT NULL
GROUP BY h.site, coalesce(c.chapter, 'unknown')
ORDER BY h.site, admissions DESC, chapter
