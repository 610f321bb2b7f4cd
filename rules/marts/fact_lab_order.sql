/*
description: >-
  One row per HIS laboratory order: the patient's pseudonym, when it was ordered, its status and the
  tests it asked for, as of the snapshot (the order's newest PIT row).
grain: [lab_order_key]
owner: hospital operations
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_event, vault.pit_event, vault.sat_event_laborder_details__history, vault.link_person_event, vault.hub_person, vault.link_laborder_test]
columns:
  lab_order_key: the order's key in the star (its vault hash key, hex)
  site: site code
  patient_key: the patient's pseudonym (marts.dim_patient)
  ordered_at: when it was ordered, UTC
  status: ordered, collected or resulted
  tests: tests requested
counts: [tests]
checks:
  - name: every_lab_order_once
    sql: |
      SELECT (SELECT count(*) FROM marts.fact_lab_order) = (SELECT count(DISTINCT hk_event) FROM vault.sat_event_laborder_details__history WHERE NOT is_ghost(hk_event)) AS passed
*/
WITH lab_order AS (
    -- each lab order's details as of the snapshot: its newest PIT row (other events: the ghost row)
    SELECT p.hk_event, s.ordered_at, s.status
    FROM vault.pit_event p
    JOIN vault.sat_event_laborder_details__history s
      ON s.hk_event = p.sat_event_laborder_details_hk AND s.effective_ts = p.sat_event_laborder_details_ts
    WHERE NOT is_ghost(s.hk_event)
    QUALIFY row_number() OVER (PARTITION BY p.hk_event ORDER BY p.as_of DESC) = 1
),
tests AS (
    SELECT hk_event, count(*) AS tests FROM vault.link_laborder_test WHERE NOT is_ghost(hk_labtest) GROUP BY hk_event
),
patient AS (
    SELECT pe.hk_event, min(pseudonym(p.site, p.person_id)) AS patient_key
    FROM vault.link_person_event pe JOIN vault.hub_person p ON p.hk_person = pe.hk_person
    GROUP BY pe.hk_event
)
SELECT hex(h.hk_event) AS lab_order_key, h.site, patient.patient_key, s.ordered_at, s.status,
       coalesce(tests.tests, 0) AS tests
FROM vault.hub_event h
JOIN lab_order s ON s.hk_event = h.hk_event
LEFT JOIN tests ON tests.hk_event = h.hk_event
LEFT JOIN patient ON patient.hk_event = h.hk_event
ORDER BY h.site, s.ordered_at NULLS LAST, lab_order_key
