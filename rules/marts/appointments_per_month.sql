/*
description: >-
  Seed 003's appointment analysis: HIS appointments per month of their scheduled time, per site: booked,
  attended (completed), no-shows and cancellations, the no-show rate, and the mean lead time from
  booking to appointment in days.
grain: [site, month_start]
owner: hospital operations
rebuild: by_month  # only the months of the appointments a load wrote are rebuilt (docs/marts.md)
month: {column: month_start, source: vault.sat_event_appointment_details.scheduled_at}
inputs: [vault.hub_event, vault.sat_event_appointment_details__current]
columns:
  site: site code
  Month: month of the appointment as Mon-YYYY
  month_start: first day of that month
  booked: appointments scheduled that month
  attended: appointments with status completed
  no_show: appointments with status no_show
  cancelled: appointments with status cancelled
  no_show_rate: no-shows over attended plus no-shows
  mean_lead_days: mean days from booking (created_at) to the appointment (scheduled_at)
counts: [booked, attended, no_show, cancelled]
checks:
  - name: appointments_counted_once
    description: Per site, the months add up to the appointments in the vault.
    sql: |
      WITH mart AS (SELECT site, sum(booked) AS n FROM marts.appointments_per_month GROUP BY site),
           vault AS (SELECT h.site, count(DISTINCT h.hk_event) AS n FROM vault.hub_event h
                     JOIN vault.sat_event_appointment_details__current s ON s.hk_event = h.hk_event GROUP BY h.site)
      SELECT count(*) FILTER (WHERE mart.n IS DISTINCT FROM vault.n) = 0 AS passed,
             coalesce(sum(mart.n), 0) AS appointments_in_mart, coalesce(sum(vault.n), 0) AS appointments_in_vault
      FROM mart FULL JOIN vault ON vault.site = mart.site
*/
SELECT h.site,
       strftime(s.scheduled_at, '%b-%Y') AS "Month",
       CAST(date_trunc('month', s.scheduled_at) AS DATE) AS month_start,
       count(*) AS booked,
       count(*) FILTER (WHERE s.status = 'completed') AS attended,
       count(*) FILTER (WHERE s.status = 'no_show') AS no_show,
       count(*) FILTER (WHERE s.status = 'cancelled') AS cancelled,
       round(count(*) FILTER (WHERE s.status = 'no_show')
             / nullif(count(*) FILTER (WHERE s.status IN ('completed', 'no_show')), 0), 3) AS no_show_rate,
       round(avg(date_diff('hour', s.created_at, s.scheduled_at)) / 24, 1) AS mean_lead_days
FROM vault.hub_event h
JOIN vault.sat_event_appointment_details__current s ON s.hk_event = h.hk_event
GROUP BY ALL
ORDER BY h.site, month_start NULLS LAST
