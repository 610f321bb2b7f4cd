"""Publishing the marts out of the warehouse: a Parquet lake, seed 000's CSV reports, PostgreSQL."""
