"""TrainDesk's training engine: datasets, models, the training loop, checkpoints.

Plain Python and torch; it never imports Qt, so it runs headless and in tests.
"""
