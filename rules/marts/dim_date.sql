/*
description: >-
  The calendar days events took place on (the time hub), with their month, ISO week and weekday: the
  star's date dimension.
grain: [date]
owner: data engineering
inputs: [vault.hub_time]
columns:
  date: the day
  month_start: first day of its month
  Month: its month as Mon-YYYY
  year: year
  iso_week: ISO week number
  weekday: ISO day of the week (1 Monday ... 7 Sunday)
checks:
  - name: one_row_per_day
    sql: SELECT count(*) = count(DISTINCT date) AS passed, count(*) AS days FROM marts.dim_date
*/
SELECT DISTINCT CAST(calendar_day AS DATE) AS date,
       CAST(date_trunc('month', CAST(calendar_day AS DATE)) AS DATE) AS month_start,
       strftime(CAST(calendar_day AS DATE), '%b-%Y') AS "Month",
       year(CAST(calendar_day AS DATE)) AS year,
       weekofyear(CAST(calendar_day AS DATE)) AS iso_week,
       isodow(CAST(calendar_day AS DATE)) AS weekday
FROM vault.hub_time
WHERE TRY_CAST(calendar_day AS DATE) IS NOT NULL
ORDER BY date
