/*
description: "The sites of rules/sites.yaml, the star's site dimension."
grain: [site]
owner: data engineering
inputs: [vault.ref_site]
columns: {site: site code, name: display name, country: ISO country code, timezone: IANA timezone reports use for local time}
checks:
  - name: one_row_per_site
    sql: SELECT count(*) = count(DISTINCT site) AS passed, count(*) AS sites FROM marts.dim_site
*/
SELECT code AS site, name, country, timezone FROM vault.ref_site ORDER BY code
