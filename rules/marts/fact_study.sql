/*
description: >-
  One row per imaging study (PACS studies extract): its date, modality, description, the patient's
  pseudonym, and its series and images (through vault.bridge_study_images: one join, not two links).
  Its details as of the snapshot: the study's newest PIT row.
grain: [study_key]
owner: imaging analytics
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_event, vault.pit_event, vault.sat_event_study_details__history, vault.link_person_event, vault.hub_person, vault.bridge_study_images]
columns:
  study_key: the study's key in the star (its vault hash key, hex)
  site: site code
  patient_key: the patient's pseudonym (marts.dim_patient)
  study_date: date of the study (marts.dim_date)
  modality: modality (marts.dim_modality)
  study_description: description
  series: series of the study
  images: images of those series
counts: [series, images]
checks:
  - name: every_study_once
    sql: |
      SELECT (SELECT count(*) FROM marts.fact_study) = (SELECT count(DISTINCT hk_event) FROM vault.sat_event_study_details__history WHERE NOT is_ghost(hk_event)) AS passed,
             (SELECT count(*) FROM marts.fact_study) AS studies
*/
WITH study AS (
    -- each study's details as of the snapshot: its newest PIT row (other events: the ghost row)
    SELECT p.hk_event, s.study_date, s.modality, s.study_description
    FROM vault.pit_event p
    JOIN vault.sat_event_study_details__history s
      ON s.hk_event = p.sat_event_study_details_hk AND s.effective_ts = p.sat_event_study_details_ts
    WHERE NOT is_ghost(s.hk_event)
    QUALIFY row_number() OVER (PARTITION BY p.hk_event ORDER BY p.as_of DESC) = 1
)
SELECT hex(h.hk_event) AS study_key, h.site,
       any_value(pseudonym(p.site, p.person_id)) AS patient_key,
       s.study_date, s.modality, s.study_description,
       count(DISTINCT b.hk_series) AS series,
       count(DISTINCT b.hk_instance) AS images
FROM vault.hub_event h
JOIN study s ON s.hk_event = h.hk_event
LEFT JOIN vault.link_person_event pe ON pe.hk_event = h.hk_event
LEFT JOIN vault.hub_person p ON p.hk_person = pe.hk_person
LEFT JOIN vault.bridge_study_images b ON b.hk_event = h.hk_event
GROUP BY h.hk_event, h.site, s.study_date, s.modality, s.study_description
ORDER BY h.site, s.study_date NULLS LAST, study_key
