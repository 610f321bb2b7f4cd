/*
description: >-
  Seed 003's appointments by the hour of the day and day of the week they are scheduled for, in each
  site's local time (its timezone in rules/sites.yaml, via vault.ref_site; stored times are UTC), with
  attendance.
grain: [site, weekday, hour]
owner: hospital operations
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_event, vault.sat_event_appointment_details__current, vault.ref_site]
columns:
  site: site code
  weekday: day of the week in the site's local time (1 Monday ... 7 Sunday)
  hour: hour of the day in the site's local time (0-23)
  booked: appointments at that hour
  attended: of which completed
  no_show: of which no-shows
counts: [booked, attended, no_show]
checks:
  - name: appointments_counted_once
    description: Per site, the hours add up to the appointments with a scheduled time.
    sql: |
      WITH mart AS (SELECT site, sum(booked) AS n FROM marts.appointments_by_hour GROUP BY site),
           vault AS (SELECT h.site, count(DISTINCT h.hk_event) AS n FROM vault.hub_event h
                     JOIN vault.sat_event_appointment_details__current s ON s.hk_event = h.hk_event
                     WHERE s.scheduled_at IS NOT NULL GROUP BY h.site)
      SELECT count(*) FILTER (WHERE mart.n IS DISTINCT FROM vault.n) = 0 AS passed,
             coalesce(sum(mart.n), 0) AS appointments_in_mart, coalesce(sum(vault.n), 0) AS appointments_in_vault
      FROM mart FULL JOIN vault ON vault.site = mart.site
*/
WITH local AS (
    SELECT h.site, s.status,
           (s.scheduled_at AT TIME ZONE 'UTC') AT TIME ZONE coalesce(r.timezone, 'UTC') AS local_time
    FROM vault.hub_event h
    JOIN vault.sat_event_appointment_details__current s ON s.hk_event = h.hk_event
    LEFT JOIN vault.ref_site r ON r.code = h.site
    WHERE s.scheduled_at IS NOT NULL
)
SELECT site,
       isodow(local_time) AS weekday,
       hour(local_time) AS hour,
       count(*) AS booked,
       count(*) FILTER (WHERE status = 'completed') AS attended,
       count(*) FILTER (WHERE status = 'no_show') AS no_show
FROM local
GROUP BY ALL
ORDER BY site, weekday, hour
