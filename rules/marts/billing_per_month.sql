/*
description: >-
  Seed 003's billing: HIS bills per month of creation and currency, per site: how many, their total
  and mean amount.
grain: [site, month_start, currency]
owner: hospital operations
rebuild: by_month  # only the months of the bills a load wrote are rebuilt (docs/marts.md)
month: {column: month_start, source: vault.sat_event_bill_details.created_at}
inputs: [vault.hub_event, vault.sat_event_bill_details__current]
columns:
  site: site code
  Month: month the bill was created, as Mon-YYYY
  month_start: first day of that month
  currency: the bills' currency
  bills: bills created
  total_amount: their total amount
  mean_amount: their mean amount
counts: [bills]
checks:
  - name: bills_counted_once
    description: Per site, the months add up to the bills and amounts in the vault.
    sql: |
      WITH mart AS (SELECT site, sum(bills) AS n, sum(total_amount) AS amount FROM marts.billing_per_month GROUP BY site),
           vault AS (SELECT h.site, count(DISTINCT h.hk_event) AS n, sum(s.total_amount) AS amount FROM vault.hub_event h
                     JOIN vault.sat_event_bill_details__current s ON s.hk_event = h.hk_event GROUP BY h.site)
      SELECT count(*) FILTER (WHERE mart.n IS DISTINCT FROM vault.n OR mart.amount IS DISTINCT FROM vault.amount) = 0 AS passed,
             coalesce(sum(mart.n), 0) AS bills_in_mart, coalesce(sum(vault.n), 0) AS bills_in_vault
      FROM mart FULL JOIN vault ON vault.site = mart.site
*/
SELECT h.site,
       strftime(s.created_at, '%b-%Y') AS "Month",
       CAST(date_trunc('month', s.created_at) AS DATE) AS month_start,
       s.currency,
       count(*) AS bills,
       sum(s.total_amount) AS total_amount,
       round(avg(s.total_amount), 2) AS mean_amount
FROM vault.hub_event h
JOIN vault.sat_event_bill_details__current s ON s.hk_event = h.hk_event
GROUP BY ALL
ORDER BY h.site, month_start NULLS LAST, s.currency
