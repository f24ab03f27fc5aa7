"""Faults, abuse and bad input, each category a function that tries many inputs and tallies
how TrainDesk answered. The tests call them with small counts and assert the tallies;
bench/faults.py calls them with large counts and prints the tallies as a table.

Anything that could hang or crash the interpreter runs in a child process (forkserver: a
clean process that already imported the engine, so each child starts in milliseconds) with
a timeout; the parent survives and counts.
"""

from __future__ import annotations

import dataclasses
import json
import math
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHILD_TIMEOUT_S = 60.0


@dataclass
class Tally:
    """How one category went: every input tried lands in exactly one outcome column
    (clear = a clear message or a correct result), plus the damage columns."""

    category: str
    tried: int = 0
    clear: int = 0
    crashes: int = 0
    hangs: int = 0
    code_runs: int = 0
    silent_loads: int = 0
    runs_lost: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)

    COLUMNS = ("tried", "clear", "crashes", "hangs", "code_runs", "silent_loads", "runs_lost")

    def bad(self, column: str, what: str) -> None:
        setattr(self, column, getattr(self, column) + 1)
        self.problems.append(f"{column}: {what}")

    def count_run(self, name: str, problem: str | None) -> None:
        """A run's outcome: clear (no problem), a lost run, or any other wrong ending."""
        if problem is None:
            self.clear += 1
        else:
            self.bad("runs_lost" if problem.startswith("run lost") else "crashes",
                     f"{name}: {problem}")

    @property
    def ok(self) -> bool:
        return not (self.crashes or self.hangs or self.code_runs or self.silent_loads
                    or self.runs_lost)


def table(tallies: list[Tally]) -> str:
    """A Markdown table, one row per category."""
    head = ["category", "inputs tried", "clear errors / correct", "crashes", "hangs",
            "code executions", "silent loads", "runs lost"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t in tallies:
        rows.append("| " + " | ".join([t.category] + [str(getattr(t, c)) for c in t.COLUMNS])
                    + " |")
    return "\n".join(rows)


# -- child processes ------------------------------------------------------------------------

_PRELOAD = ["engine.training.trainer", "engine.records.checkpoint", "engine.data"]


def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def _child_main(send, function: Callable, args: tuple) -> None:
    try:
        send.send(("ok", function(*args)))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which counts it
        send.send(("raised", f"{type(error).__module__}.{type(error).__name__}: {error}"))


def in_child(function: Callable, *args: Any,
             timeout_s: float = CHILD_TIMEOUT_S) -> tuple[str, Any]:
    """Run function(*args) in a child: ("ok", result), ("raised", text), ("hang", None) or
    ("died", exit code)."""
    context = _context()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(send, function, args), daemon=True)
    child.start()
    send.close()
    try:
        if receive.poll(timeout_s):
            try:
                return receive.recv()
            except EOFError:
                pass
        else:
            return ("hang", None)
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    return ("died", child.exitcode)


# -- checkpoints ------------------------------------------------------------------------------


def small_checkpoint():
    import torch

    from engine.config import TrainConfig
    from engine.models.architectures import build_model
    from engine.records.checkpoint import Checkpoint

    torch.manual_seed(0)
    model = build_model("softmax", 1, 10, 12)
    return Checkpoint(
        config=TrainConfig(arch="softmax"), model_state=model.state_dict(),
        optimizer_state=None, scheduler_state=None, scaler_state=None, epoch=1,
        history=[{"epoch": 1, "test_acc": 0.5}], class_names=tuple("0123456789"),
        mean=(0.1307,), std=(0.3081,), in_channels=1, input_size=12, is_digits=True)


def damage(data: bytes, rng: random.Random) -> bytes:
    """One random damage: bytes flipped, the file cut short, a span zeroed, bytes inserted."""
    n = len(data)
    kind = rng.choice(["flip", "flips", "cut", "zero", "insert"])
    out = bytearray(data)
    if kind == "flip":
        out[rng.randrange(n)] ^= rng.randint(1, 255)
    elif kind == "flips":
        for _ in range(rng.randint(2, 20)):
            out[rng.randrange(n)] ^= rng.randint(1, 255)
    elif kind == "cut":
        del out[rng.randrange(n):]
    elif kind == "zero":
        start = rng.randrange(n)
        length = min(rng.randint(1, 4096), n - start)
        out[start:start + length] = bytes(length)
    else:
        at = rng.randint(0, n)
        out[at:at] = rng.randbytes(rng.randint(1, 64))
    return bytes(out)


def _leave_marker(path: str) -> None:
    Path(path).write_text("ran")


class CodeOnLoad:
    """Pickles as a call of _leave_marker: loading it unsafely runs code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (_leave_marker, (str(self.marker),))


def _code_files(folder: Path, marker: Path) -> list[Path]:
    import pickle

    import torch

    payload = {"format": "traindesk-checkpoint", "format_version": 1,
               "model_state": CodeOnLoad(marker)}
    files = []
    for name, write in {
        "pickle.pt": lambda p: p.write_bytes(pickle.dumps(payload)),
        "pickle0.pt": lambda p: p.write_bytes(pickle.dumps(payload, protocol=0)),
        "torchzip.pt": lambda p: torch.save(payload, p),
        "legacy.pt": lambda p: torch.save(payload, p, _use_new_zipfile_serialization=False),
    }.items():
        write(folder / name)
        files.append(folder / name)
    return files


def checkpoint_faults(root: Path, mutations: int, seed: int = 0) -> Tally:
    """Damaged copies of a sealed checkpoint, files that would run code, bare weights and
    files that are no checkpoint: each must be refused with a CheckpointError (or, bare
    weights of one network, load with what was assumed said), nothing ever run."""
    import torch

    from engine.models.architectures import build_model
    from engine.records.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

    tally = Tally("checkpoints")
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    original = save_checkpoint(root / "original.pt", small_checkpoint()).read_bytes()
    marker = root / "marker.txt"

    def attempt(path: Path, what: str, may_load: bool = False) -> None:
        tally.tried += 1
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError:
            ckpt = None
        except Exception as error:  # noqa: BLE001 - counted
            tally.bad("crashes", f"{what}: {type(error).__name__}: {error}")
            return
        if marker.exists():
            tally.bad("code_runs", what)
            marker.unlink()
        elif ckpt is not None and not (may_load and ckpt.assumed):
            tally.bad("silent_loads", what)
        else:
            tally.clear += 1

    for i in range(mutations):
        copy = damage(original, rng)
        if copy == original:
            continue
        path = root / f"damaged-{i}.pt"
        path.write_bytes(copy)
        attempt(path, f"damaged copy {i}")
        path.unlink()
    for path in _code_files(root, marker):
        attempt(path, f"code in {path.name}")
    bare = root / "bare-mlp.pt"
    torch.save(build_model("mlp", 1, 10, 28).state_dict(), bare)
    attempt(bare, "bare weights of one network", may_load=True)
    for arch in ("lenet5", "resnet18"):
        other = root / f"bare-{arch}-ambiguous.pt"
        torch.save(build_model(arch, 1, 10, 28).state_dict(), other)
        attempt(other, f"bare weights ({arch})", may_load=True)
    for name, content in {"empty.pt": b"", "text.pt": b"epoch,loss\n1,0.5\n",
                          "random.pt": rng.randbytes(4096)}.items():
        (root / name).write_bytes(content)
        attempt(root / name, name)
    return tally


# -- atomic saves under SIGKILL ---------------------------------------------------------------


def _train_and_save_forever(data_dir: str, run_dir: str) -> None:
    """A real run that saves its run folder at every epoch's end, until it is killed."""
    from engine.config import TrainConfig
    from engine.training.trainer import Trainer

    checkpoint = Path(run_dir) / "checkpoint.pt"
    config = TrainConfig(arch="softmax", dataset="mnist", data_dir=data_dir, epochs=10_000,
                         batch_size=16, device="cpu", threads=1)
    resume = checkpoint if checkpoint.exists() else None
    end = Trainer(config, run_dir=run_dir, resume_from=resume).run(lambda event: None)
    raise RuntimeError(f"the run ended by itself: {end.reason}: {end.message}")


def check_run_folder(run_dir: Path) -> str | None:
    """What is wrong with a run folder after a kill, or None: the checkpoint loads, the
    config parses, every metrics line but a half-written last one parses, and the epochs
    go 1, 2, 3, … up to the checkpoint's (or one short of it: killed between the
    checkpoint and its line), never past it."""
    from engine.records.checkpoint import CheckpointError, load_checkpoint

    try:
        ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    except CheckpointError as error:
        return f"checkpoint: {error}"
    try:
        json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"config.json: {error}"
    try:
        text = (run_dir / "metrics.jsonl").read_text(encoding="utf-8")
    except FileNotFoundError:  # killed before the first epoch's line
        text = ""
    lines = text.split("\n")
    complete = lines[:-1]  # the last piece is "" after a final newline, or a cut-off line
    try:
        epochs = [json.loads(line)["epoch"] for line in complete]
    except (ValueError, KeyError) as error:
        return f"metrics.jsonl: a complete line does not parse ({error})"
    if epochs != list(range(1, len(epochs) + 1)):
        return f"metrics.jsonl: epochs {epochs[:5]}… are not 1, 2, 3, …"
    if len(epochs) not in (ckpt.epoch, ckpt.epoch - 1):
        return f"checkpoint holds epoch {ckpt.epoch} but metrics.jsonl {len(epochs)} epochs"
    if [r["epoch"] for r in ckpt.history] != list(range(1, ckpt.epoch + 1)):
        return "the checkpoint's history does not match its epoch"
    return None


def kill_during_saves(root: Path, kills: int, seed: int = 0) -> Tally:
    """Kill (SIGKILL) a training run that saves at every epoch, at random moments, `kills`
    times; after each kill the run folder must be whole, and the next run resumes from it."""
    from tools.sample_datasets import write_idx_dataset

    tally = Tally("saves killed (SIGKILL)")
    rng = random.Random(seed)
    data_dir, run_dir = root / "data", root / "run"
    write_idx_dataset(data_dir, n_train=48, n_test=16)
    context = _context()
    for attempt in range(kills + 1):
        child = context.Process(target=_train_and_save_forever,
                                args=(str(data_dir), str(run_dir)), daemon=True)
        child.start()
        if attempt == 0:  # the first run is killed only once it has saved
            deadline = time.monotonic() + CHILD_TIMEOUT_S
            while not (run_dir / "metrics.jsonl").exists() and child.is_alive():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
        else:
            child.join(rng.uniform(0.0, 0.4))
        alive = child.is_alive()
        if alive:
            os.kill(child.pid, signal.SIGKILL)
        child.join()
        if attempt == 0:
            if not alive or not (run_dir / "checkpoint.pt").exists():
                tally.bad("crashes", f"the first run never saved (exit code {child.exitcode})")
                return tally
            continue
        tally.tried += 1
        if not alive:
            tally.bad("crashes", f"kill {attempt}: the run ended before the kill "
                      f"(exit code {child.exitcode})")
            continue
        problem = check_run_folder(run_dir)
        if problem is None:
            tally.clear += 1
        else:
            tally.bad("runs_lost", f"kill {attempt}: {problem}")
            break  # the folder is damaged: later kills would count the same damage
    return tally


# -- datasets ----------------------------------------------------------------------------------


def load_and_describe(name: str, data_dir: str) -> str:
    """Load a dataset offline; its shape and notes, or the clear error, as text (runs in a
    child: a hang or a crash cannot take the caller with it)."""
    import urllib.request

    from engine.data import load_dataset
    from engine.data.types import DatasetError

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("offline (a test never downloads)")

    urllib.request.urlopen = offline
    try:
        data = load_dataset(name, data_dir, progress=lambda event: None, image_size=32)
    except DatasetError as error:
        return f"error: {error}"
    return (f"loaded: {len(data.train_labels)} train, {len(data.test_labels)} test, "
            f"{data.channels} channels, classes {list(data.class_names)}; notes: "
            + " ".join(data.notes))


def _idx(damage: Callable[[Path], object] | None) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        from tools.sample_datasets import write_idx_dataset

        raw = write_idx_dataset(folder, n_train=40, n_test=20)
        if damage is not None:
            damage(next(Path(raw).glob("train-images*")))
    return write


def _cifar(damage: Callable[[Path], object] | None) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        from tools.sample_datasets import write_cifar_batches

        batches = write_cifar_batches(folder, n_per_batch=10, n_test=10)
        if damage is not None:
            damage(batches / "data_batch_1")
    return write


def _random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(3).randbytes(5000))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _cut(path: Path) -> None:
    from tools.sample_datasets import cut_file

    cut_file(path, 0.5)


def _nothing(folder: Path) -> None:
    pass


def _images(folder: Path, classes: dict[str, list[tuple[str, Any]]]) -> None:
    """Write folder/<class>/<file>; an entry is (file name, PIL image or bytes or callable)."""
    for name, files in classes.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for file_name, content in files:
            path = folder / name / file_name
            if isinstance(content, bytes):
                path.write_bytes(content)
            elif callable(content):
                content(path)
            else:
                content.save(path)


def _image(mode: str, size: tuple[int, int], value: int = 120) -> Any:
    from PIL import Image

    bands = len(Image.new(mode, (1, 1)).getbands())
    return Image.new(mode, size, value if bands == 1 else (value,) * bands)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels and holds almost no data: what a
    decompression bomb's header looks like to a reader that trusts it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 256)) + chunk(b"IEND", b""))


def _some(mode: str = "L", n: int = 3, size: int = 12) -> list[tuple[str, Any]]:
    return [(f"{i}.png", _image(mode, (size, size), 40 * i + 20)) for i in range(n)]


def _mixed(folder: Path) -> None:
    from PIL import Image

    palette = Image.new("P", (30, 30), 3)
    palette.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])
    _images(folder, {
        "a": [("rgba.png", _image("RGBA", (40, 20))), ("p.png", palette),
              ("cmyk.jpg", _image("CMYK", (20, 20))), ("grey16.png", _image("I;16", (12, 12),
                                                                             40000))],
        "b": [("rgb.png", _image("RGB", (64, 48))), ("la.png", _image("LA", (10, 10))),
              ("one-bit.png", _image("1", (17, 9), 1)), ("cmyk.tif", _image("CMYK", (8, 8)))],
    })


def _special_files(folder: Path) -> None:
    _images(folder, {"a": _some(), "b": _some()})
    os.mkfifo(folder / "a" / "pipe.png")  # reading it would wait forever
    os.symlink("/dev/zero", folder / "b" / "zero.png")  # reading it would never end
    os.symlink(folder / "nowhere.png", folder / "b" / "gone.png")


DATASET_CASES: dict[str, tuple[str, Callable[[Path], None], str]] = {
    # case: (dataset, writer, the answer must contain)
    "IDX files missing (offline)": ("mnist", _nothing,
                                    "error: MNIST (11 MB download) was not found"),
    "IDX cut short": ("mnist", _idx(_cut), "error:"),
    "IDX random bytes": ("mnist", _idx(_random_bytes), "error:"),
    "IDX empty file": ("mnist", _idx(_empty), "error:"),
    "IDX intact (control)": ("mnist", _idx(None), "loaded: 40 train"),
    "CIFAR files missing (offline)": ("cifar10", _nothing,
                                      "error: CIFAR-10 (163 MB download) was not found"),
    "CIFAR batch cut short": ("cifar10", _cifar(_cut), "error:"),
    "CIFAR batch random bytes": ("cifar10", _cifar(_random_bytes), "error:"),
    "CIFAR batch empty": ("cifar10", _cifar(_empty), "error:"),
    "folder: unreadable image": ("folder", lambda f: _images(f, {
        "a": _some() + [("broken.png", b"\x89PNG\r\n\x1a\nnot really")], "b": _some()}),
        "error: Cannot read the image"),
    "folder: empty class": ("folder", lambda f: (_images(f, {"a": _some(), "b": _some()}),
                                                 (f / "c").mkdir()), "hold no images: c"),
    "folder: one class only": ("folder", lambda f: _images(f, {"a": _some()}),
                               "a classifier needs at least 2"),
    "folder: mixed sizes and modes": ("folder", _mixed, "3 channels"),
    "folder: huge image (bomb header)": ("folder", lambda f: _images(f, {
        "a": _some() + [("huge.png", png_header_only(12_000, 12_000))], "b": _some()}),
        "144 million"),
    "folder: far larger image header": ("folder", lambda f: _images(f, {
        "a": _some() + [("bomb.png", png_header_only(60_000, 60_000))], "b": _some()}),
        "error:"),
    "folder: unicode paths": ("folder", lambda f: _images(f, {
        "chats-é": [(f"ñ{i}.png", img) for i, (_, img) in enumerate(_some())],
        "狗": [(f"δ{i}.png", img) for i, (_, img) in enumerate(_some())]}),
        "classes ['chats-é', '狗']"),
    "folder: pipe, device and broken links": ("folder", _special_files,
                                              "Skipped 3 image names that are not plain"),
}


def dataset_faults(root: Path, cases: dict[str, tuple[str, Callable[[Path], None], str]]
                   = DATASET_CASES) -> tuple[Tally, dict[str, str]]:
    """Write each case's dataset under root and load it in a child; (tally, answers).

    An answer is clear when it holds the case's expected text (a clear error sentence, or
    a load); a raw exception is a crash, a load past the timeout a hang.
    """
    tally = Tally("datasets")
    answers = {}
    for case, (name, write, expected) in cases.items():
        folder = root / case.replace(" ", "-")
        folder.mkdir(parents=True)
        write(folder)
        tally.tried += 1
        outcome, result = in_child(load_and_describe, name, str(folder))
        answers[case] = f"{outcome}: {result}"
        if outcome == "hang":
            tally.bad("hangs", case)
        elif outcome != "ok":
            tally.bad("crashes", f"{case}: {outcome}: {result}")
        elif expected not in result:
            tally.bad("crashes", f"{case}: expected {expected!r}, got {result!r}")
        else:
            tally.clear += 1
    return tally, answers


def dataset_mutations(root: Path, count: int, seed: int = 0) -> Tally:
    """Randomly damaged IDX (gzip) and CIFAR-10 files, each loaded in a child: an error
    sentence or a load, never a crash or a hang. (IDX and CIFAR carry no checksum of their
    own, so a damaged pixel byte in an intact gzip stream can load: that is not counted as
    silent; the gzip CRC catches the rest.)"""
    tally = Tally("datasets (random damage)")
    rng = random.Random(seed)
    for i in range(count):
        name, write = (("mnist", _idx(lambda path: path.write_bytes(
                            damage(path.read_bytes(), rng))))
                       if i % 2 == 0 else
                       ("cifar10", _cifar(lambda path: path.write_bytes(
                           damage(path.read_bytes(), rng)))))
        folder = root / f"mutation-{i}"
        folder.mkdir(parents=True)
        write(folder)
        tally.tried += 1
        outcome, result = in_child(load_and_describe, name, str(folder))
        if outcome == "hang":
            tally.bad("hangs", f"mutation {i} ({name})")
        elif outcome != "ok":
            tally.bad("crashes", f"mutation {i} ({name}): {outcome}: {result}")
        else:
            tally.clear += 1
    return tally


# -- configs -----------------------------------------------------------------------------------

BAD_VALUES = (None, True, False, math.nan, math.inf, -math.inf, -1, 0, 2**70, -(2**70), 1e308,
              "", "nan", "-1", "x" * 300, "\0", [], {}, b"bytes", 0.5)


def config_faults(count: int, seed: int = 0) -> Tally:
    """Random bad values in random fields: problems() must answer with sentences, and a run
    of such a config must end with a RunEnd, never an exception."""
    from engine.config import TrainConfig
    from engine.training.trainer import Trainer

    tally = Tally("settings (bad values)")
    rng = random.Random(seed)
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    for _ in range(count):
        changes = {name: rng.choice(BAD_VALUES)
                   for name in rng.sample(names, rng.randint(1, 4))}
        tally.tried += 1
        try:
            config = TrainConfig().replace(**changes)
            problems = config.problems()
            if not problems:
                tally.clear += 1  # a valid config (e.g. seed 0): nothing to refuse
                continue
            end = Trainer(config).run(lambda event: None)
        except Exception as error:  # noqa: BLE001 - counted
            tally.bad("crashes", f"{changes!r}: {type(error).__name__}: {error}")
            continue
        if end.reason == "failed" and end.message.startswith("Invalid setting"):
            tally.clear += 1
        else:
            tally.bad("crashes", f"{changes!r}: {end.reason}: {end.message}")
    return tally


# -- runs --------------------------------------------------------------------------------------

# The run every fault interrupts: 36 training images in 3 batches, 12 validation and 16 test
# images (one evaluation batch each), 3 epochs; faults strike in epoch 2.
RUN_BATCHES = 3


@dataclass(frozen=True)
class RunFault:
    """A fault, where it strikes (the n-th training or evaluation forward pass), and the
    answer it must get: the RunEnd reason, a phrase of its message, the epochs kept in the
    history and the epoch the run folder's checkpoint holds (None: no folder left)."""

    name: str
    action: str  # what the model does at that forward pass
    train_call: int = 0
    eval_call: int = 0
    reason: str = "failed"
    says: str = ""
    epochs_kept: int = 1
    saved_epoch: int | None = 1


RUN_FAULTS = (
    RunFault("NaN loss", "nan", train_call=RUN_BATCHES + 1, reason="diverged",
             says="Training diverged at epoch 2, batch 1: the loss became nan"),
    RunFault("Inf loss", "inf", train_call=RUN_BATCHES + 1, reason="diverged",
             says="Training diverged at epoch 2, batch 1"),
    RunFault("model raises mid-run", "raise", train_call=RUN_BATCHES + 2,
             says="Training failed: RuntimeError: a layer failed"),
    RunFault("out of memory", "oom", train_call=RUN_BATCHES + 2,
             says="Out of memory on"),
    RunFault("stop during evaluation", "stop", eval_call=3, reason="stopped",
             says="Stopped by you after 1 of 3 epochs"),
    RunFault("stop during the first batch", "stop", train_call=1, reason="stopped",
             says="nothing was trained yet, nothing was saved", epochs_kept=0,
             saved_epoch=None),
    RunFault("disk full (ENOSPC)", "enospc", train_call=RUN_BATCHES + 1,
             says="No space left on device", epochs_kept=2),
    RunFault("run folder not writable", "unwritable", says="cannot be written",
             epochs_kept=0, saved_epoch=None),
)


def fault_config(data_dir: Path):
    from engine.config import TrainConfig

    return TrainConfig(arch="mlp", dataset="mnist", data_dir=str(data_dir), epochs=3,
                       batch_size=16, val_split=0.25, device="cpu")


def write_fault_data(data_dir: Path) -> Path:
    from tools.sample_datasets import write_idx_dataset

    write_idx_dataset(data_dir, n_train=48, n_test=16)
    return data_dir


class FaultInjector:
    """Makes a model misbehave once, as `fault` says; `stop` is how a stop is requested
    (the run's Control, or the window's Stop). Use as a context manager around the run."""

    def __init__(self, fault: RunFault, stop: Callable[[], None]) -> None:
        self.fault, self.stop = fault, stop
        self.train_calls = self.eval_calls = 0
        self.disk_full = False
        self._patches: list = []

    def __enter__(self) -> FaultInjector:
        from unittest import mock

        import engine.training.setup

        build = engine.training.setup.build_model

        def build_with_hooks(*args, **kwargs):
            model = build(*args, **kwargs)
            model.register_forward_hook(self._hook)
            return model

        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            if self.disk_full:
                raise OSError(28, "No space left on device")
            real_fsync(fd)

        self._patches = [
            mock.patch.object(engine.training.setup, "build_model", build_with_hooks),
            mock.patch("os.fsync", fsync)]
        for patch in self._patches:
            patch.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for patch in reversed(self._patches):
            patch.stop()

    def _hook(self, module, inputs, output):
        import torch

        if module.training:
            self.train_calls += 1
            strike = self.train_calls == self.fault.train_call
        else:
            self.eval_calls += 1
            strike = self.eval_calls == self.fault.eval_call
        if not strike:
            return output
        action = self.fault.action
        if action == "nan":
            return output * float("nan")
        if action == "inf":
            return output * float("inf")
        if action == "raise":
            raise RuntimeError("a layer failed")
        if action == "oom":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if action == "stop":
            self.stop()
        if action == "enospc":
            self.disk_full = True
        return output


def fault_run_dir(fault: RunFault, root: Path) -> Path:
    """The run folder for a fault: under a file (so it cannot be made) when it says so."""
    if fault.action == "unwritable":
        blocker = root / "a-file"
        blocker.write_text("not a folder")
        return blocker / "run"
    return root / "run"


def check_fault_answer(fault: RunFault, end, history: list[dict], run_dir: Path) -> str | None:
    """What is wrong with how a run answered a fault, or None."""
    from engine.records.checkpoint import CheckpointError, load_checkpoint

    if end.reason != fault.reason or fault.says not in end.message:
        return f"ended {end.reason!r}: {end.message!r}"
    if len(history) != fault.epochs_kept:
        return f"kept {len(history)} epochs, expected {fault.epochs_kept}"
    if fault.saved_epoch is None:
        return f"left the folder {run_dir}" if run_dir.exists() else None
    try:
        ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    except CheckpointError as error:
        return f"run lost: {error}"
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    if ckpt.epoch != fault.saved_epoch or len(lines) != fault.saved_epoch:
        return (f"the folder holds epoch {ckpt.epoch} and {len(lines)} metrics lines, "
                f"expected {fault.saved_epoch}")
    return None


def run_with_fault(fault: RunFault, data_dir: Path, root: Path) -> str | None:
    """Run the fault's run in this process; what is wrong with its answer, or None."""
    from engine.control import Control
    from engine.training.trainer import Trainer

    control = Control()
    run_dir = fault_run_dir(fault, root)
    trainer = Trainer(fault_config(data_dir), run_dir=run_dir)
    with FaultInjector(fault, control.stop):
        end = trainer.run(lambda event: None, control)
    return check_fault_answer(fault, end, trainer.history, run_dir)


def run_faults(root: Path, repeats: int) -> Tally:
    tally = Tally("runs (faults mid-run)")
    data_dir = write_fault_data(root / "data")
    for repeat in range(repeats):
        for fault in RUN_FAULTS:
            tally.tried += 1
            folder = root / f"{repeat}-{fault.action}-{fault.train_call}-{fault.eval_call}"
            folder.mkdir()
            try:
                problem = run_with_fault(fault, data_dir, folder)
            except Exception as error:  # noqa: BLE001 - counted
                tally.bad("crashes", f"{fault.name}: {type(error).__name__}: {error}")
                continue
            tally.count_run(fault.name, problem)
    return tally


# -- run folders: races, locks, exported files, SIGTERM, names -----------------------------------

REPO = Path(__file__).resolve().parents[1]
# Claims FOLDER at the moment START (time.time()), holds it a second, releases it; imports
# only engine.records.run_folder (no PyTorch), so many start at once in milliseconds.
CLAIM_AT_ONCE = """
import os, sys, time
from engine.records.run_folder import RunFolderError, claim, release
folder, start = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
try:
    claimed = claim(folder)
except RunFolderError as error:
    print("refused", os.getpid(), error)
else:
    print("claimed", os.getpid())
    sys.stdout.flush()
    time.sleep(1.0)
    release(claimed)
"""


def claim_race(folder: Path, processes: int = 4) -> list[tuple[str, int, str]]:
    """`processes` real processes claim one folder at the same moment: (outcome, process
    id, message) of each."""
    import subprocess
    import sys

    start = time.time() + 1.0 + 0.1 * processes
    children = [subprocess.Popen([sys.executable, "-c", CLAIM_AT_ONCE, str(folder), str(start)],
                                 cwd=REPO, stdout=subprocess.PIPE, text=True)
                for _ in range(processes)]
    answers = []
    for child in children:
        out = child.communicate(timeout=CHILD_TIMEOUT_S)[0].strip()
        what, pid, *message = out.split(" ", 2) if out else ("died", str(child.returncode))
        answers.append((what, int(pid), message[0] if message else ""))
    return answers


def _race_answer(answers: list[tuple[str, int, str]]) -> tuple[str, str] | None:
    """(damage column, what) when a race went wrong, else None."""
    winners = [pid for what, pid, _ in answers if what == "claimed"]
    if len(winners) > 1:
        return "runs_lost", f"{len(winners)} processes claimed one folder"
    if len(winners) == 0:
        return "crashes", f"no process claimed the folder: {answers}"
    for what, _, message in answers:
        if what != "claimed" and f"being written by process {winners[0]}" not in message:
            return "crashes", f"a loser was told: {what} {message!r}"
    return None


def signal_after_first_epoch(train_args: list[str], sig: int,
                             timeout: float = CHILD_TIMEOUT_S) -> tuple[int, str]:
    """A real `main.py train ARGS`, sent `sig` once its first epoch has ended (so there is a
    model to keep): its exit code and what it printed on stdout."""
    process = subprocess.Popen([sys.executable, "main.py", "train", *train_args], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if line.startswith("Epoch 1/"):
                process.send_signal(sig)
                break
        out, _ = process.communicate(timeout=timeout)
    finally:
        process.kill()
    return process.returncode, out


def sigterm_run(data_dir: Path, run_dir: Path) -> str | None:
    """A real `main.py train`, sent SIGTERM after its first epoch: what is wrong with how it
    ended (exit code, message, record, checkpoint), or None."""
    from engine.records import runs
    from engine.records.checkpoint import CheckpointError, load_checkpoint

    code, out = signal_after_first_epoch(
        ["--arch", "softmax", "--dataset", "mnist", "--data-dir", str(data_dir), "--epochs",
         "10000", "--batch-size", "16", "--device", "cpu", "--no-tensorboard", "--run-dir",
         str(run_dir)], signal.SIGTERM)
    if code != 130 or not out.startswith("Stopped by SIGTERM"):
        return f"exit code {code}, said {out[:200]!r}"
    record = runs.read_run(run_dir)
    try:
        saved = load_checkpoint(run_dir / "checkpoint.pt").epoch
    except CheckpointError as error:
        return f"run lost: {error}"
    if record.status != "stopped" or record.epochs_done != saved:
        return f"record {record.status} with {record.epochs_done} epochs, checkpoint {saved}"
    return None


def _exported_files(root: Path) -> tuple[Path, list[Path]]:
    """A sealed checkpoint and the models exported from it (TorchScript; ONNX where the
    onnx extra is installed)."""
    import importlib.util
    import warnings

    from engine.inference.export import export_model
    from engine.records.checkpoint import load_checkpoint, save_checkpoint

    checkpoint = save_checkpoint(root / "run" / "checkpoint.pt", small_checkpoint())
    formats = ["torchscript"]
    if importlib.util.find_spec("onnxscript") and importlib.util.find_spec("onnx"):
        formats.append("onnx")
    exported = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in formats:
            suffix = ".onnx" if fmt == "onnx" else ".pt"
            exported.append(export_model(load_checkpoint(checkpoint),
                                         root / f"model{suffix}", fmt).path)
    return checkpoint, exported


def run_folder_faults(root: Path, races: int, sigterms: int) -> Tally:
    """Run folders and the files in them: `races` races of 4 processes for one folder (one
    wins, the others are told who writes it), stale and foreign locks, exported models given
    as checkpoints and exports aimed at a run's own files, names over 255 bytes, a broken
    link as run folder, and `sigterms` real runs ended by SIGTERM."""
    import contextlib
    import io
    import socket

    from engine.cli.train import main as train_main
    from engine.inference.export import output_problem
    from engine.records.checkpoint import CheckpointError, load_checkpoint
    from engine.records.run_folder import (
        LOCK_FILE,
        RUN_FILE_NAMES,
        RunFolderError,
        claim,
        release,
    )
    from tools.sample_datasets import write_idx_dataset

    tally = Tally("run folders (races, locks, exported files, SIGTERM, long names)")
    root.mkdir(parents=True, exist_ok=True)

    def refused(what: str, attempt: Callable[[], object], error: type[Exception],
                says: str) -> None:
        tally.tried += 1
        try:
            attempt()
        except error as raised:
            if says in str(raised):
                tally.clear += 1
            else:
                tally.bad("crashes", f"{what}: said {raised}")
        except Exception as raised:  # noqa: BLE001 - counted
            tally.bad("crashes", f"{what}: {type(raised).__name__}: {raised}")
        else:
            tally.bad("silent_loads", f"{what}: accepted")

    for i in range(races):
        tally.tried += 1
        problem = _race_answer(claim_race(root / f"race-{i}"))
        if problem is None:
            tally.clear += 1
        else:
            tally.bad(*problem)

    stale = root / "stale"
    stale.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (stale / LOCK_FILE).write_text(json.dumps({"pid": gone.pid, "host": socket.gethostname(),
                                               "started": time.time()}))
    tally.tried += 1
    try:
        claimed = claim(stale)
        release(claimed)
        if "Took over" in claimed.note:
            tally.clear += 1
        else:
            tally.bad("crashes", "a stale lock was taken over without a word")
    except RunFolderError as error:
        tally.bad("crashes", f"a stale lock was not taken over: {error}")
    foreign = root / "foreign"
    foreign.mkdir()
    (foreign / LOCK_FILE).write_text(json.dumps({"pid": 1, "host": "elsewhere.example",
                                                 "started": time.time()}))
    refused("another computer's lock", lambda: claim(foreign), RunFolderError,
            "being written by process 1 on elsewhere.example")

    checkpoint, exported = _exported_files(root / "exported")
    for path in exported:
        refused(f"{path.name} as a checkpoint", lambda p=path: load_checkpoint(p),
                CheckpointError, "is an exported model")
    for name in (*RUN_FILE_NAMES, "config"):
        tally.tried += 1
        problem = output_problem(checkpoint.parent / name, checkpoint)
        if problem and "Choose another file" in problem:
            tally.clear += 1
        else:
            tally.bad("runs_lost", f"an export to {name} beside a checkpoint was allowed")

    long = root / ("x" * 300)
    refused("a run folder name of 300 bytes", lambda: claim(long), RunFolderError,
            "at most 255 bytes")
    refused("a checkpoint name of 300 bytes", lambda: load_checkpoint(long), CheckpointError,
            "cannot be read")
    for flag in ("--run-dir", "--resume"):
        tally.tried += 1
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = train_main([flag, str(long / "checkpoint.pt" if flag == "--resume" else long)])
        if code == 2 and "at most 255 bytes" in err.getvalue():
            tally.clear += 1
        else:
            tally.bad("crashes", f"{flag} of 300 bytes: exit {code}, {err.getvalue()[-200:]!r}")
    link = root / "link"
    link.symlink_to(root / "nowhere" / "runs")
    refused("a broken link as run folder", lambda: claim(link), RunFolderError,
            "is a broken link: it points to")

    data_dir = root / "data"
    write_idx_dataset(data_dir, n_train=48, n_test=16)
    for i in range(sigterms):
        tally.tried += 1
        tally.count_run(f"SIGTERM {i}", sigterm_run(data_dir, root / f"sigterm-{i}"))
    return tally
