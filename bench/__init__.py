"""The performance benchmark: `python -m bench.run` (see README, "Performance")."""
