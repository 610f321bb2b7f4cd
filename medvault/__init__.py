"""medvault: a Dagster asset-graph data platform for multi-site healthcare data."""
