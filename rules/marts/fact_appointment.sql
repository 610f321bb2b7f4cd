/*
description: >-
  One row per HIS appointment: the patient's pseudonym, department, scheduled and booking times (UTC),
  the local hour, status and lead time, as of the snapshot (the appointment's newest PIT row).
grain: [appointment_key]
owner: hospital operations
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_event, vault.pit_event, vault.sat_event_appointment_details__history, vault.link_person_event, vault.hub_person, vault.link_event_location, vault.ref_site]
columns:
  appointment_key: the appointment's key in the star (its vault hash key, hex)
  site: site code
  patient_key: the patient's pseudonym (marts.dim_patient)
  department_key: its department (marts.dim_department)
  scheduled_at: when it is, UTC
  local_hour: its hour in the site's local time
  status: scheduled, completed, no_show or cancelled
  lead_days: days from booking to the appointment
checks:
  - name: every_appointment_once
    sql: |
      SELECT (SELECT count(*) FROM marts.fact_appointment) = (SELECT count(DISTINCT hk_event) FROM vault.sat_event_appointment_details__history WHERE NOT is_ghost(hk_event)) AS passed
*/
WITH appointment AS (
    -- each appointment's details as of the snapshot: its newest PIT row (other events: the ghost row)
    SELECT p.hk_event, s.scheduled_at, s.status, s.created_at
    FROM vault.pit_event p
    JOIN vault.sat_event_appointment_details__history s
      ON s.hk_event = p.sat_event_appointment_details_hk AND s.effective_ts = p.sat_event_appointment_details_ts
    WHERE NOT is_ghost(s.hk_event)
    QUALIFY row_number() OVER (PARTITION BY p.hk_event ORDER BY p.as_of DESC) = 1
)
SELECT hex(h.hk_event) AS appointment_key, h.site,
       min(pseudonym(p.site, p.person_id)) AS patient_key,
       min(hex(el.hk_location)) AS department_key,
       s.scheduled_at,
       hour((s.scheduled_at AT TIME ZONE 'UTC') AT TIME ZONE coalesce(any_value(r.timezone), 'UTC')) AS local_hour,
       s.status,
       round(date_diff('hour', s.created_at, s.scheduled_at) / 24, 1) AS lead_days
FROM vault.hub_event h
JOIN appointment s ON s.hk_event = h.hk_event
LEFT JOIN vault.link_person_event pe ON pe.hk_event = h.hk_event
LEFT JOIN vault.hub_person p ON p.hk_person = pe.hk_person
LEFT JOIN vault.link_event_location el ON el.hk_event = h.hk_event AND NOT is_ghost(el.hk_location)
LEFT JOIN vault.ref_site r ON r.code = h.site
GROUP BY h.hk_event, h.site, s.scheduled_at, s.status, s.created_at
ORDER BY h.site, s.scheduled_at NULLS LAST, appointment_key
