/*
description: >-
  Patients, pseudonymous by construction: a keyed code (HMAC-SHA256 of the site and the patient's key
  with MEDVAULT_PSEUDONYM_KEY, the function pseudonym()), the age band and sex; no name, identifier,
  birth date or postcode. Sex and age as of the snapshot: the patient's newest PIT row.
grain: [patient_key]
owner: data engineering
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_person, vault.pit_person, vault.sat_person_registration_details__history, vault.sat_person_demographic_details__history]
columns:
  patient_key: the patient's pseudonym (32 hex digits of HMAC-SHA256 over site and patient key)
  site: site code
  sex: administrative sex (M, F, O, U); SMR01's codes 1, 2, 9 as M, F, U
  age_band: age in ten-year bands (0-9 ... 90+) as SMR01 reports it; NULL when unknown
checks:
  - name: one_pseudonym_per_patient
    description: Every patient of the vault has one pseudonym, and no two patients share one.
    sql: |
      WITH persons AS (SELECT count(*) AS n FROM vault.hub_person WHERE NOT is_ghost(hk_person))
      SELECT (SELECT count(*) FROM marts.dim_patient) = (SELECT n FROM persons)
             AND (SELECT count(DISTINCT patient_key) FROM marts.dim_patient) = (SELECT n FROM persons) AS passed,
             (SELECT count(*) FROM marts.dim_patient) AS patients
*/
WITH person AS (
    -- registration and demographics as of the snapshot: the newest PIT row, both satellites joined on
    -- equality (one a patient lacks is its ghost row, NULL payload)
    SELECT p.hk_person, r.sex AS registered_sex, d.sex AS smr01_sex, d.age_in_years
    FROM vault.pit_person p
    JOIN vault.sat_person_registration_details__history r
      ON r.hk_person = p.sat_person_registration_details_hk AND r.effective_ts = p.sat_person_registration_details_ts
    JOIN vault.sat_person_demographic_details__history d
      ON d.hk_person = p.sat_person_demographic_details_hk AND d.effective_ts = p.sat_person_demographic_details_ts
    QUALIFY row_number() OVER (PARTITION BY p.hk_person ORDER BY p.as_of DESC) = 1
)
SELECT pseudonym(h.site, h.person_id) AS patient_key, h.site,
       coalesce(s.registered_sex, CASE s.smr01_sex WHEN 1 THEN 'M' WHEN 2 THEN 'F' WHEN 9 THEN 'U' END) AS sex,
       CASE WHEN s.age_in_years IS NULL THEN NULL
            WHEN s.age_in_years >= 90 THEN '90+'
            ELSE CAST(s.age_in_years // 10 * 10 AS VARCHAR) || '-' || CAST(s.age_in_years // 10 * 10 + 9 AS VARCHAR) END
           AS age_band
FROM vault.hub_person h
LEFT JOIN person s ON s.hk_person = h.hk_person
WHERE NOT is_ghost(h.hk_person)
ORDER BY h.site, patient_key
