"""TrainDesk's training engine: plain Python and torch; it never imports Qt, so it runs
headless and in tests.

On top, what every room shares and none needs torch for: config (TrainConfig), catalog
(what a person reads about networks and datasets), events, control, analysis. The rooms:
data/ (datasets), models/ (networks), runtime/ (devices and threads), training/ (one run),
records/ (run folders), lr_finder/, experiments/ (seed groups and sweeps: runs of runs),
inference/ (prediction and export), cli/ (command lines). docs/architecture.md draws how
they fit.
"""
