"""Experiments made of ordinary runs: seed groups (seeds.py: one setting trained with
several seeds, summarised with stats.py) and sweeps on Optuna. Every member or trial is a
normal run folder; this room only orders runs and reads what they recorded."""
