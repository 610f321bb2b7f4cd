-- marts.dim_patient as it read the vault's __current views before the star read the PIT tables (issue 11):
-- the oracle of tests/test_marts_ghosts.py.
SELECT pseudonym(p.site, p.person_id) AS patient_key, p.site,
       coalesce(r.sex, CASE d.sex WHEN 1 THEN 'M' WHEN 2 THEN 'F' WHEN 9 THEN 'U' END) AS sex,
       CASE WHEN d.age_in_years IS NULL THEN NULL
            WHEN d.age_in_years >= 90 THEN '90+'
            ELSE CAST(d.age_in_years // 10 * 10 AS VARCHAR) || '-' || CAST(d.age_in_years // 10 * 10 + 9 AS VARCHAR) END
           AS age_band
FROM vault.hub_person p
LEFT JOIN vault.sat_person_registration_details__current r ON r.hk_person = p.hk_person
LEFT JOIN vault.sat_person_demographic_details__current d ON d.hk_person = p.hk_person
WHERE NOT is_ghost(p.hk_person)
ORDER BY p.site, patient_key
