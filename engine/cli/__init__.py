"""The command lines, which only main.py imports: `train` (train.py parses its flags, then
runs one process, or hands over to find_lr.py, torchrun.py, or seeds.py for a seed group),
`sweep` (sweep.py), `export` (export.py) and `predict` (predict.py). Each prints through
console.py (exit codes, events, signals); train.py and torchrun.py choose their run folder
with run_dir.py."""
