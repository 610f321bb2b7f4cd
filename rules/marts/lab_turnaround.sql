/*
description: >-
  Seed 003's laboratory turnaround: per month of ordering, the lab orders, how many have a result, and
  the median and longest hours from the order to its result (the first version of the order with status
  resulted, in the satellite's history).
grain: [site, month_start]
owner: hospital operations
rebuild: by_month  # only the months of the lab orders a load wrote are rebuilt (docs/marts.md)
month: {column: month_start, source: vault.sat_event_laborder_details.ordered_at}
inputs: [vault.hub_event, vault.sat_event_laborder_details__current, vault.sat_event_laborder_details__history]
columns:
  site: site code
  Month: month of ordering as Mon-YYYY
  month_start: first day of that month
  orders: lab orders
  resulted: of which have a result
  median_hours: median hours from order to result
  longest_hours: the longest
counts: [orders, resulted]
checks:
  - name: lab_orders_counted_once
    description: Per site, the months add up to the lab orders in the vault.
    sql: |
      WITH mart AS (SELECT site, sum(orders) AS n FROM marts.lab_turnaround GROUP BY site),
           vault AS (SELECT h.site, count(DISTINCT h.hk_event) AS n FROM vault.hub_event h
                     JOIN vault.sat_event_laborder_details__current s ON s.hk_event = h.hk_event GROUP BY h.site)
      SELECT count(*) FILTER (WHERE mart.n IS DISTINCT FROM vault.n) = 0 AS passed,
             coalesce(sum(mart.n), 0) AS orders_in_mart, coalesce(sum(vault.n), 0) AS orders_in_vault
      FROM mart FULL JOIN vault ON vault.site = mart.site
*/
WITH resulted AS (
    SELECT hk_event, min(effective_ts) AS resulted_at
    FROM vault.sat_event_laborder_details__history
    WHERE status = 'resulted'
    GROUP BY hk_event
)
SELECT h.site,
       strftime(s.ordered_at, '%b-%Y') AS "Month",
       CAST(date_trunc('month', s.ordered_at) AS DATE) AS month_start,
       count(*) AS orders,
       count(r.resulted_at) AS resulted,
       round(median(date_diff('minute', s.ordered_at, r.resulted_at)) / 60, 1) AS median_hours,
       round(max(date_diff('minute', s.ordered_at, r.resulted_at)) / 60, 1) AS longest_hours
FROM vault.hub_event h
JOIN vault.sat_event_laborder_details__current s ON s.hk_event = h.hk_event
LEFT JOIN resulted r ON r.hk_event = h.hk_event
GROUP BY ALL
ORDER BY h.site, month_start NULLS LAST
