/*
description: >-
  Seed 003's EHR admissions: SMR01 hospital admissions per month of admission, per site, with the mean
  and longest length of stay (days) of those admissions, from each admission's dates in force now.
grain: [site, month_start]
owner: clinical analytics
rebuild: by_month  # only the months of the admissions a load wrote are rebuilt (docs/marts.md)
month: {column: month_start, source: vault.sat_event_admissions_date.admission_date}
inputs: [vault.hub_event, vault.sat_event_admissions_date__current]
columns:
  site: site code
  Month: month of admission as Mon-YYYY
  month_start: first day of that month
  admissions: admissions that month
  mean_length_of_stay: mean length of stay in days (SMR01's length_of_stay)
  longest_stay: the longest stay in days
counts: [admissions]
checks:
  - name: admissions_counted_once
    description: Per site, the months add up to the admissions in the vault.
    sql: |
      WITH mart AS (SELECT site, sum(admissions) AS n FROM marts.admissions_per_month GROUP BY site),
           vault AS (SELECT h.site, count(DISTINCT h.hk_event) AS n FROM vault.hub_event h
                     JOIN vault.sat_event_admissions_date__current s ON s.hk_event = h.hk_event GROUP BY h.site)
      SELECT count(*) FILTER (WHERE mart.n IS DISTINCT FROM vault.n) = 0 AS passed,
             coalesce(sum(mart.n), 0) AS admissions_in_mart, coalesce(sum(vault.n), 0) AS admissions_in_vault
      FROM mart FULL JOIN vault ON vault.site = mart.site
*/
SELECT h.site,
       strftime(s.admission_date, '%b-%Y') AS "Month",
       CAST(date_trunc('month', s.admission_date) AS DATE) AS month_start,
       count(*) AS admissions,
       round(avg(s.length_of_stay), 1) AS mean_length_of_stay,
       max(s.length_of_stay) AS longest_stay
FROM vault.hub_event h
JOIN vault.sat_event_admissions_date__current s ON s.hk_event = h.hk_event
GROUP BY ALL
ORDER BY h.site, month_start NULLS LAST
