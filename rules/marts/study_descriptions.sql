/*
description: >-
  Seed 000's study descriptions: how many studies carry each description, per site (its SQL: SELECT
  DISTINCT(study_desc) AS STUDY_DESC, COUNT(*) FROM study GROUP BY STUDY_DESC), from each study's
  details in force now.
grain: [site, STUDY_DESC]
owner: imaging analytics
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_event, vault.sat_event_study_details__current]
columns:
  site: site code
  STUDY_DESC: the study description as the PACS lists it; NULL when it has none
  COUNT: studies with that description
counts: [COUNT]   # suppressed below MEDVAULT_SMALL_COUNT when published
checks:
  - name: studies_counted_once
    description: Per site, the descriptions' counts add up to the studies in the vault.
    sql: |
      WITH mart AS (SELECT site, sum("COUNT") AS studies FROM marts.study_descriptions GROUP BY site),
           vault AS (SELECT h.site, count(DISTINCT h.hk_event) AS studies FROM vault.hub_event h
                     JOIN vault.sat_event_study_details__current s ON s.hk_event = h.hk_event
                     GROUP BY h.site)
      SELECT count(*) FILTER (WHERE mart.studies IS DISTINCT FROM vault.studies) = 0 AS passed,
             coalesce(sum(mart.studies), 0) AS studies_in_mart, coalesce(sum(vault.studies), 0) AS studies_in_vault
      FROM mart FULL JOIN vault ON vault.site = mart.site
*/
SELECT h.site,
       s.study_description AS "STUDY_DESC",
       count(*) AS "COUNT"
FROM vault.hub_event h
JOIN vault.sat_event_study_details__current s ON s.hk_event = h.hk_event
GROUP BY ALL
ORDER BY h.site, "STUDY_DESC" NULLS LAST
