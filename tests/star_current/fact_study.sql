-- marts.fact_study as it read the vault's __current views before the star read the PIT tables (issue 11):
-- the oracle of tests/test_marts_ghosts.py.
SELECT hex(h.hk_event) AS study_key, h.site,
       any_value(pseudonym(p.site, p.person_id)) AS patient_key,
       s.study_date, s.modality, s.study_description,
       count(DISTINCT b.hk_series) AS series,
       count(DISTINCT b.hk_instance) AS images
FROM vault.hub_event h
JOIN vault.sat_event_study_details__current s ON s.hk_event = h.hk_event
LEFT JOIN vault.link_person_event pe ON pe.hk_event = h.hk_event
LEFT JOIN vault.hub_person p ON p.hk_person = pe.hk_person
LEFT JOIN vault.bridge_study_images b ON b.hk_event = h.hk_event
GROUP BY h.hk_event, h.site, s.study_date, s.modality, s.study_description
ORDER BY h.site, s.study_date NULLS LAST, study_key
