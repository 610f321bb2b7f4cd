/*
description: >-
  One row per imaging study (PACS studies extract): its date, modality, description, the patient's
  pseudonym, and its series and images (through vault.bridge_study_images: one join, not two links).
grain: [study_key]
owner: imaging analytics
rebuild: by_site   # a site's rows depend on its own data only: rebuilt for the sites that changed
inputs: [vault.hub_event, vault.sat_event_study_details__current, vault.link_person_event, vault.hub_person, vault.bridge_study_images]
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
      SELECT (SELECT count(*) FROM marts.fact_study) = (SELECT count(*) FROM vault.sat_event_study_details__current) AS passed,
             (SELECT count(*) FROM marts.fact_study) AS studies
*/
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
