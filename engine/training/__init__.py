"""A run: setting it up, the loop, mid-run changes, outcomes, torchrun."""
