-- marts.fact_appointment as it read the vault's __current views before the star read the PIT tables (issue 11):
-- the oracle of tests/test_marts_ghosts.py.
SELECT hex(h.hk_event) AS appointment_key, h.site,
       min(pseudonym(p.site, p.person_id)) AS patient_key,
       min(hex(el.hk_location)) AS department_key,
       s.scheduled_at,
       hour((s.scheduled_at AT TIME ZONE 'UTC') AT TIME ZONE coalesce(any_value(r.timezone), 'UTC')) AS local_hour,
       s.status,
       round(date_diff('hour', s.created_at, s.scheduled_at) / 24, 1) AS lead_days
FROM vault.hub_event h
JOIN vault.sat_event_appointment_details__current s ON s.hk_event = h.hk_event
LEFT JOIN vault.link_person_event pe ON pe.hk_event = h.hk_event
LEFT JOIN vault.hub_person p ON p.hk_person = pe.hk_person
LEFT JOIN vault.link_event_location el ON el.hk_event = h.hk_event AND NOT is_ghost(el.hk_location)
LEFT JOIN vault.ref_site r ON r.code = h.site
GROUP BY h.hk_event, h.site, s.scheduled_at, s.status, s.created_at
ORDER BY h.site, s.scheduled_at NULLS LAST, appointment_key
