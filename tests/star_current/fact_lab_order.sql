-- marts.fact_lab_order as it read the vault's __current views before the star read the PIT tables (issue 11):
-- the oracle of tests/test_marts_ghosts.py.
WITH tests AS (
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
JOIN vault.sat_event_laborder_details__current s ON s.hk_event = h.hk_event
LEFT JOIN tests ON tests.hk_event = h.hk_event
LEFT JOIN patient ON patient.hk_event = h.hk_event
ORDER BY h.site, s.ordered_at NULLS LAST, lab_order_key
