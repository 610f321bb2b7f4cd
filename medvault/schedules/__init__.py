"""medvault."""
