-- marts.fact_admission as it read the vault's __current views before the star read the PIT tables (issue 11):
-- the oracle of tests/test_marts_ghosts.py.
SELECT hex(h.hk_event) AS admission_key, h.site,
       min(pseudonym(p.site, p.person_id)) AS patient_key,
       a.admission_date, a.discharge_date, a.length_of_stay,
       c.main_condition, min(ch.chapter) AS chapter
FROM vault.hub_event h
JOIN vault.sat_event_admissions_date__current a ON a.hk_event = h.hk_event
LEFT JOIN vault.sat_event_conditions_details__current c ON c.hk_event = h.hk_event
LEFT JOIN vault.ref_icd10_chapter ch ON upper(left(c.main_condition, 3)) BETWEEN ch.first_code AND ch.last_code
LEFT JOIN vault.link_person_event pe ON pe.hk_event = h.hk_event
LEFT JOIN vault.hub_person p ON p.hk_person = pe.hk_person
GROUP BY h.hk_event, h.site, a.admission_date, a.discharge_date, a.length_of_stay, c.main_condition
ORDER BY h.site, a.admission_date NULLS LAST, admission_key
