/*
description: "DICOM modality codes with their meaning (vault.ref_modality), the star's modality dimension."
grain: [modality]
owner: imaging analytics
inputs: [vault.ref_modality]
columns: {modality: DICOM modality code, meaning: what it is}
checks:
  - name: one_row_per_modality
    sql: SELECT count(*) = count(DISTINCT modality) AS passed FROM marts.dim_modality
*/
SELECT code AS modality, meaning FROM vault.ref_modality ORDER BY code
