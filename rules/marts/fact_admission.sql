/*
description: >-
  One row per hospital admission (SMR01): the patient's pseudonym, admission and discharge dates,
  length of stay and the main condition with its ICD-10 chapter, as of the snapshot (the admission's
  newest PIT row).
grain: [admission_key]
owner: clinical analytics
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_event, vault.pit_event, vault.sat_event_admissions_date__history, vault.sat_event_conditions_details__history, vault.link_person_event, vault.hub_person, vault.ref_icd10_chapter]
columns:
  admission_key: the admission's key in the star (its vault hash key, hex)
  site: site code
  patient_key: the patient's pseudonym (marts.dim_patient)
  admission_date: date of admission
  discharge_date: date of discharge
  length_of_stay: days
  main_condition: ICD-10 code of the main condition
  chapter: its ICD-10 chapter
checks:
  - name: every_admission_once
    sql: |
      SELECT (SELECT count(*) FROM marts.fact_admission) = (SELECT count(DISTINCT hk_event) FROM vault.sat_event_admissions_date__history WHERE NOT is_ghost(hk_event)) AS passed
*/
WITH admission AS (
    -- dates and conditions as of the snapshot: the admission's newest PIT row, both satellites joined
    -- on equality (no conditions yet: their ghost row, NULL)
    SELECT p.hk_event, a.admission_date, a.discharge_date, a.length_of_stay, c.main_condition
    FROM vault.pit_event p
    JOIN vault.sat_event_admissions_date__history a
      ON a.hk_event = p.sat_event_admissions_date_hk AND a.effective_ts = p.sat_event_admissions_date_ts
    JOIN vault.sat_event_conditions_details__history c
      ON c.hk_event = p.sat_event_conditions_details_hk AND c.effective_ts = p.sat_event_conditions_details_ts
    WHERE NOT is_ghost(a.hk_event)
    QUALIFY row_number() OVER (PARTITION BY p.hk_event ORDER BY p.as_of DESC) = 1
)
SELECT hex(h.hk_event) AS admission_key, h.site,
       min(pseudonym(p.site, p.person_id)) AS patient_key,
       a.admission_date, a.discharge_date, a.length_of_stay,
       a.main_condition, min(ch.chapter) AS chapter
FROM vault.hub_event h
JOIN admission a ON a.hk_event = h.hk_event
LEFT JOIN vault.ref_icd10_chapter ch ON upper(left(a.main_condition, 3)) BETWEEN ch.first_code AND ch.last_code
LEFT JOIN vault.link_person_event pe ON pe.hk_event = h.hk_event
LEFT JOIN vault.hub_person p ON p.hk_person = pe.hk_person
GROUP BY h.hk_event, h.site, a.admission_date, a.discharge_date, a.length_of_stay, a.main_condition
ORDER BY h.site, a.admission_date NULLS LAST, admission_key
