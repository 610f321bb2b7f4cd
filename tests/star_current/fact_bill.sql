-- marts.fact_bill as it read the vault's __current views before the star read the PIT tables (issue 11):
-- the oracle of tests/test_marts_ghosts.py.
WITH lines AS (
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
JOIN vault.sat_event_bill_details__current s ON s.hk_event = h.hk_event
LEFT JOIN lines ON lines.hk_event = h.hk_event
LEFT JOIN patient ON patient.hk_event = h.hk_event
ORDER BY h.site, s.created_at NULLS LAST, bill_key
