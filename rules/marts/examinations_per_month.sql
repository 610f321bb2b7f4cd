/*
description: >-
  Seed 000's examinations per month: the PACS orders of type STUDY by the month they were created,
  per site (its SQL: DATE_FORMAT(CREATED, '%b-%Y') AS Month, COUNT(*) AS TotalExams FROM ORDERS
  WHERE ORDER_TYPE = 'STUDY' GROUP BY YEAR(CREATED), MONTH(CREATED)). The rows of all sites together
  are the cross-site merge.
grain: [site, month_start]
owner: imaging analytics
rebuild: by_month  # only the months of the orders a load wrote are rebuilt (docs/marts.md)
month: {column: month_start, source: vault.sat_event_order_details.created_at}
inputs: [vault.hub_event, vault.sat_event_order_details__current]
columns:
  site: site code
  Month: month of creation as Mon-YYYY (seed 000's label); NULL for an order without a creation time
  month_start: first day of that month, for sorting and charts
  TotalExams: orders of type STUDY created that month
counts: [TotalExams]   # suppressed below MEDVAULT_SMALL_COUNT when published
checks:
  - name: exams_match_study_orders
    description: Per site, the months add up to the STUDY orders in force in the vault.
    sql: |
      WITH mart AS (SELECT site, sum("TotalExams") AS exams FROM marts.examinations_per_month GROUP BY site),
           orders AS (SELECT h.site, count(DISTINCT h.hk_event) AS orders
                      FROM vault.hub_event h
                      JOIN vault.sat_event_order_details__current s ON s.hk_event = h.hk_event
                      WHERE s.order_type = 'STUDY' GROUP BY h.site)
      SELECT count(*) FILTER (WHERE mart.exams IS DISTINCT FROM orders.orders) = 0 AS passed,
             coalesce(sum(mart.exams), 0) AS exams_in_mart,
             coalesce(sum(orders.orders), 0) AS study_orders_in_vault
      FROM mart FULL JOIN orders ON orders.site = mart.site
*/
SELECT h.site,
       strftime(s.created_at, '%b-%Y') AS "Month",
       CAST(date_trunc('month', s.created_at) AS DATE) AS month_start,
       count(*) AS "TotalExams"
FROM vault.hub_event h
JOIN vault.sat_event_order_details__current s ON s.hk_event = h.hk_event
WHERE s.order_type = 'STUDY'
GROUP BY ALL
ORDER BY h.site, month_start NULLS LAST
