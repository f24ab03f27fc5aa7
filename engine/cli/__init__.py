"""The command lines (train, export, the LR finder, torchrun): parse, run, print."""
