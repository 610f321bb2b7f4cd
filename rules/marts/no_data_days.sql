/*
description: >-
  Seed 000's "no data" report: the days a site sent nothing, from its first drop to the newest drop of
  any site, and the sites of sites.yaml that never sent anything (one row, date NULL).
grain: [site, date]
owner: data engineering
inputs: [ops.drops_per_day, vault.ref_site]
columns:
  site: site code
  date: a day without a drop from the site (NULL for a site that never delivered)
  weekday: its ISO day of the week (1 Monday ... 7 Sunday)
  reason: no drop, or never delivered
checks:
  - name: days_add_up
    description: Per site that delivered, the days without a drop and the days with one make its whole span.
    sql: |
      WITH last AS (SELECT max(date) AS last_day FROM ops.drops_per_day),
           span AS (SELECT d.site, (SELECT last_day FROM last) - min(d.date) + 1 AS days, count(*) AS with_drop
                    FROM ops.drops_per_day d GROUP BY d.site),
           gaps AS (SELECT site, count(*) AS without FROM marts.no_data_days WHERE date IS NOT NULL GROUP BY site)
      SELECT count(*) FILTER (WHERE s.days <> s.with_drop + coalesce(g.without, 0)) = 0 AS passed,
             coalesce(sum(g.without), 0) AS days_without_a_drop
      FROM span s LEFT JOIN gaps g ON g.site = s.site
*/
WITH last AS (SELECT max(date) AS last_day FROM ops.drops_per_day),
first AS (SELECT site, min(date) AS first_day FROM ops.drops_per_day GROUP BY site),
calendar AS (
    SELECT f.site, CAST(unnest(generate_series(f.first_day, l.last_day, INTERVAL 1 DAY)) AS DATE) AS date
    FROM first f CROSS JOIN last l
)
SELECT c.site, c.date, isodow(c.date) AS weekday, 'no drop' AS reason
FROM calendar c
LEFT JOIN ops.drops_per_day d ON d.site = c.site AND d.date = c.date
WHERE d.site IS NULL
UNION ALL
SELECT s.code AS site, NULL AS date, NULL AS weekday, 'never delivered' AS reason
FROM vault.ref_site s
WHERE s.code NOT IN (SELECT site FROM first)
ORDER BY site, date NULLS FIRST
