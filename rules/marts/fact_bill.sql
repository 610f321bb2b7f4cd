/*
description: >-
  One row per HIS bill: the patient's pseudonym, facility, when it was created, its total, currency
  and its lines (the non-historised link of bill items), as of the snapshot (the bill's newest PIT row).
grain: [bill_key]
owner: hospital operations
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_event, vault.pit_event, vault.sat_event_bill_details__history, vault.link_person_event, vault.hub_person, vault.link_bill_line]
columns:
  bill_key: the bill's key in the star (its vault hash key, hex)
  site: site code
  patient_key: the patient's pseudonym (marts.dim_patient)
  created_at: when the bill was created, UTC
  total_amount: its total
  currency: its currency
  lines: its bill items
  lines_amount: the sum of its items' amounts
counts: [lines]
checks:
  - name: every_bill_once
    sql: |
      SELECT (SELECT count(*) FROM marts.fact_bill) = (SELECT count(DISTINCT hk_event) FROM vault.sat_event_bill_details__history WHERE NOT is_ghost(hk_event)) AS passed
*/
WITH bill AS (
    -- each bill's details as of the snapshot: its newest PIT row (other events: the ghost row)
    SELECT p.hk_event, s.created_at, s.total_amount, s.currency
    FROM vault.pit_event p
    JOIN vault.sat_event_bill_details__history s
      ON s.hk_event = p.sat_event_bill_details_hk AND s.effective_ts = p.sat_event_bill_details_ts
    WHERE NOT is_ghost(s.hk_event)
    QUALIFY row_number() OVER (PARTITION BY p.hk_event ORDER BY p.as_of DESC) = 1
),
lines AS (
    SELECT hk_event, count(*) AS lines, sum(amount) AS lines_amount FROM vault.link_bill_line
    WHERE NOT is_ghost(hk_charge)
    GROUP BY hk_event
),
patient AS (
    SELECT pe.hk_event, min(pseudonym(p.site, p.person_id)) AS patient_key
    FROM vault.link_person_event pe JOIN vault.hub_person p ON p.hk_person = pe.hk_person
    GROUP BY pe.hk_event
)
SELECT hex(h.hk_event) AS bill_key, h.site, patient.patient_key, s.created_at, s.total_amount, s.currency,
       coalesce(lines.lines, 0) AS lines, lines.lines_amount
FROM vault.hub_event h
JOIN bill s ON s.hk_event = h.hk_event
LEFT JOIN lines ON lines.hk_event = h.hk_event
LEFT JOIN patient ON patient.hk_event = h.hk_event
ORDER BY h.site, s.created_at NULLS LAST, bill_key
