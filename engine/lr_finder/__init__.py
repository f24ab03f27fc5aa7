"""The learning-rate range test: a short trial run and the rate it suggests."""
