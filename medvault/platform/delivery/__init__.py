"""Seed 004's image delivery: destination names, pipeline UIDs, stamping, error codes and error logs."""
