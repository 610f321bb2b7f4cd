"""The site agent (seed 000's many-to-one design): runs at a site beside its PACS database, extracts what
changed since its last push and pushes it to the central drop server. Plain Python, no Dagster, no DuckDB:
`pip install medvault[agent]` is enough to run it."""
