"""Saving and loading training checkpoints: enough to resume a run exactly and to predict.

A checkpoint file is a plain dict of tensors and primitives written with `torch.save`. It is
read back with `torch.load(weights_only=True)` only, so opening a checkpoint can never run
code, whoever made the file. Saving is atomic: a crash mid-save leaves the previous file.

torch.load does not check the zip archive's CRCs, and some bytes (names, padding) are
covered by no CRC at all: a damaged file could load with wrong numbers and no complaint.
So each file is sealed with a SHA-256 of everything before it, kept in the zip's comment
(any zip reader, torch's included, still reads the file), and checked before loading.
Files without a seal (older TrainDesk, or torch.save in a script) get the CRC check.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import pickletools
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.catalog import is_pretrained
from engine.config import TrainConfig
from engine.data.cifar import CLASS_NAMES as CIFAR10_CLASSES
from engine.data.fingerprint import is_fingerprint
from engine.events import SettingsChanged
from engine.models import pretrained
from engine.models.architectures import MODELS, build_model
from engine.models.weights_match import matching_networks, unwrapped
from engine.records.atomic_files import write_bytes_atomic
from engine.records.run_folder import CHECKPOINT_FILE
from engine.text import plural

FORMAT = "traindesk-checkpoint"
FORMAT_VERSION = 1

_REQUIRED_KEYS = (
    "config", "model_state", "optimizer_state", "scheduler_state", "scaler_state", "epoch",
    "history", "class_names", "mean", "std", "in_channels", "input_size", "is_digits",
)
# Pickle opcodes that import a callable: the only way a pickle can run code when loaded.
_IMPORT_OPCODES = frozenset({"GLOBAL", "STACK_GLOBAL", "INST", "EXT1", "EXT2", "EXT4"})
# How much of a refused non-zip file is scanned to explain the refusal.
_SCAN_LIMIT_BYTES = 64 * 1024 * 1024
# The seal: the zip archive's comment holds this marker and the SHA-256 (hex) of every byte
# before the comment's length field.
_SEAL_MARK = b"traindesk-sha256:"
_SEAL_LENGTH = len(_SEAL_MARK) + 64
_ZIP_START = b"PK\x03\x04"
_ZIP_END = b"PK\x05\x06"  # end-of-central-directory record: 22 bytes, then the comment
_ZIP_END_SIZE = 22
_ZIP_END_SEARCH = _ZIP_END_SIZE + 0xFFFF  # the record sits in the file's last 64 KiB


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or used; the message says why and what to do."""


@dataclass
class Checkpoint:
    config: TrainConfig
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict | None
    scheduler_state: dict | None
    scaler_state: dict | None
    epoch: int  # epochs completed
    history: list[dict]  # EpochEnd.as_record() per epoch
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    in_channels: int
    input_size: int  # square size the network was trained on
    is_digits: bool
    # SettingsChanged.as_record() of the settings changed mid-run (optional in the file:
    # older checkpoints have none).
    changes: list[dict] = field(default_factory=list)
    # What was assumed to open it (bare weights: classes, normalisation), said to the
    # person whenever it is used; empty for a checkpoint that records everything.
    assumed: str = ""
    # engine.data.fingerprint of the images trained on, checked on resume (plain types;
    # None in checkpoints saved before it was kept).
    data_fingerprint: dict[str, Any] | None = None


def save_checkpoint(path: str | Path, ckpt: Checkpoint) -> Path:
    """Write `ckpt` to `path` atomically (creating parent folders) and return the path.

    The data goes to a temporary file in the same folder, is flushed to disk, then renamed
    over `path`: readers see the old file or the new one, never half of one. A disk or
    permission problem raises the `OSError` and leaves any previous file as it was.
    """
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    archive = io.BytesIO()
    torch.save(_to_payload(ckpt), archive)
    write_bytes_atomic(path, _sealed(archive.getbuffer()))
    return path



def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint saved by `save_checkpoint`; never runs code stored in the file."""
    path = Path(path).expanduser()
    try:
        exists = path.exists()
    except OSError as error:  # e.g. a name over 255 bytes: "File name too long"
        raise CheckpointError(f"'{path}' cannot be read ({error.strerror or error}). Check "
                              "the path.") from error
    if not exists:
        raise CheckpointError(
            f"No checkpoint at '{path}': the file does not exist. Check the path, or train a "
            "model to create one."
        )
    if path.is_dir():
        raise CheckpointError(
            f"'{path}' is a folder, not a checkpoint. Choose the checkpoint file inside it."
        )
    if path.stat().st_size == 0:
        raise CheckpointError(
            f"The checkpoint '{path}' is empty (0 bytes): it was never written completely. "
            "Use another checkpoint, or train the model again."
        )
    exported = exported_model_kind(path)
    if exported:
        raise CheckpointError(
            f"'{path}' is an exported model ({exported}), not a checkpoint: it holds the "
            "network for other programs to run, without the settings, optimizer state and "
            "history TrainDesk needs to continue, export or open it. Choose the "
            f"{CHECKPOINT_FILE} of the run it was exported from."
        )
    sealed = _check_integrity(path)
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols before refusing a foreign pickle; the
            # refusal below says all a person needs.
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch reports unreadable files in many shapes
        raise _unreadable(path, error) from error
    return _from_payload(path, payload, sealed)


def exported_model_kind(path: str | Path) -> str | None:
    """"TorchScript" or "ONNX" if the file is a model exported by engine.inference.export (or any
    TorchScript or ONNX file), else None; read without loading anything.

    TorchScript is a zip like torch.save's, told apart by its code/ and constants.pkl;
    ONNX is a protobuf ModelProto: field 1 (ir_version) first, and the producer's name or
    an opset import near the start.
    """
    try:
        with open(path, "rb") as stream:
            head = stream.read(256)
        if head.startswith(_ZIP_START):
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
            if any("/code/" in name or name.endswith("constants.pkl") for name in names):
                return "TorchScript"
            return None
    except Exception:  # noqa: BLE001 - a damaged archive fails in many ways
        return None  # not recognised: the integrity check says what is wrong with it
    if head[:1] == b"\x08" and any(word in head for word in (b"pytorch", b"onnx", b"ai.onnx")):
        return "ONNX"
    return None


def build_model_from_checkpoint(ckpt: Checkpoint) -> nn.Module:
    """The network the checkpoint was trained as, with its weights, on the CPU in eval mode."""
    arch = ckpt.config.arch
    if arch not in MODELS:
        raise CheckpointError(
            f"The checkpoint is for the architecture '{arch}', which this version of TrainDesk "
            "does not know. Open it with the TrainDesk version that saved it."
        )
    model = build_model(arch, ckpt.in_channels, len(ckpt.class_names), ckpt.input_size)
    load_model_weights(model, ckpt.model_state, arch)
    return model.cpu().eval()


def load_model_weights(model: nn.Module, state: dict, arch: str) -> None:
    """Load `state` into `model` strictly; `arch` is the architecture the checkpoint names."""
    mismatch = _first_mismatch(model.state_dict(), state)
    if mismatch is None:
        try:
            model.load_state_dict(state, strict=True)
            return
        except RuntimeError as error:  # e.g. a value of the wrong type under a right key
            mismatch = str(error).strip().splitlines()[-1].strip()
    raise CheckpointError(
        f"The checkpoint's weights (architecture '{arch}') do not fit this model: {mismatch}. "
        "They were saved for another architecture or another input shape or number of "
        "classes; build the model from the checkpoint's own settings."
    )


def _first_mismatch(expected: dict[str, Any], given: dict[str, Any]) -> str | None:
    for key, value in expected.items():
        if key not in given:
            return f"the model needs '{key}', which the checkpoint lacks"
        want, have = getattr(value, "shape", None), getattr(given[key], "shape", None)
        if want != have:
            return (
                f"'{key}' has shape {_shape(have)} in the checkpoint but {_shape(want)} in "
                "the model"
            )
    for key in given:
        if key not in expected:
            return f"the checkpoint has '{key}', which the model does not use"
    return None


def _shape(shape: torch.Size | None) -> str:
    return "(none)" if shape is None else str(tuple(shape))


def _sealed(archive: memoryview) -> bytes:
    """torch.save's archive with its SHA-256 in the zip comment (see the module docstring)."""
    end = len(archive) - _ZIP_END_SIZE
    if bytes(archive[end:end + 4]) != _ZIP_END or bytes(archive[-2:]) != b"\0\0":
        raise RuntimeError("torch.save wrote a zip archive of an unexpected layout")
    digest = hashlib.sha256(archive[:-2]).hexdigest().encode()
    return bytes(archive[:-2]) + _SEAL_LENGTH.to_bytes(2, "little") + _SEAL_MARK + digest


def _check_integrity(path: Path) -> bool:
    """Raise CheckpointError for a damaged archive; return whether the file was sealed.

    Files that are not zip archives are left to torch.load, whose refusal is explained.
    """
    size = path.stat().st_size
    with open(path, "rb") as stream:
        starts_as_zip = stream.read(4) == _ZIP_START
        tail_start = max(0, size - _ZIP_END_SEARCH)
        stream.seek(tail_start)
        tail = stream.read()
    end = tail.rfind(_ZIP_END)
    # A sealed file whose first bytes were damaged is still checked (and refused) as one.
    if not starts_as_zip and not (end >= 0 and _SEAL_MARK in tail[end + _ZIP_END_SIZE:]):
        return False
    if end < 0 or len(tail) < end + _ZIP_END_SIZE:
        raise _damaged(path, "it was probably cut off while being saved or copied")
    comment_length = int.from_bytes(tail[end + 20:end + 22], "little")
    comment = tail[end + _ZIP_END_SIZE:]
    if len(comment) != comment_length:
        raise _damaged(path, "its end does not add up: it was cut off or extended")
    if comment.startswith(_SEAL_MARK) and comment_length == _SEAL_LENGTH:
        if _digest_of(path, tail_start + end + 20) != comment[len(_SEAL_MARK):]:
            raise _damaged(path, "its contents do not match the checksum saved with them")
        return True
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except Exception as error:  # noqa: BLE001 - a broken archive fails in many ways
        raise _damaged(path, f"its archive cannot be read ({type(error).__name__})") from error
    if bad is not None:
        raise _damaged(path, f"the part '{bad}' fails its checksum")
    return False


def _digest_of(path: Path, length: int) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while length > 0:
            chunk = stream.read(min(length, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            length -= len(chunk)
    return digest.hexdigest().encode()


def _to_payload(ckpt: Checkpoint) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        # Every file TrainDesk writes is sealed: one that says so but is not, was damaged.
        "sealed": True,
        "config": ckpt.config.to_dict(),
        "model_state": dict(ckpt.model_state),
        "optimizer_state": ckpt.optimizer_state,
        "scheduler_state": ckpt.scheduler_state,
        "scaler_state": ckpt.scaler_state,
        "epoch": int(ckpt.epoch),
        "history": [dict(record) for record in ckpt.history],
        "class_names": list(ckpt.class_names),
        "mean": [float(m) for m in ckpt.mean],
        "std": [float(s) for s in ckpt.std],
        "in_channels": int(ckpt.in_channels),
        "input_size": int(ckpt.input_size),
        "is_digits": bool(ckpt.is_digits),
        "changes": [dict(change) for change in ckpt.changes],
        # Only where something was assumed: other files stay as every version wrote them.
        **({"assumed": str(ckpt.assumed)} if ckpt.assumed else {}),
        **({"data_fingerprint": dict(ckpt.data_fingerprint)} if ckpt.data_fingerprint
           else {}),
    }


def _from_payload(path: Path, payload: Any, sealed: bool) -> Checkpoint:
    if _is_bare_weights(payload):
        return bare_weights_checkpoint(path, payload)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise _not_traindesk(path, payload)
    version = payload.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise _damaged(path, "its format version is missing")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"The checkpoint '{path}' was saved by a newer TrainDesk (checkpoint format "
            f"{version}; this version reads up to format {FORMAT_VERSION}). Update TrainDesk "
            "to open it."
        )
    if payload.get("sealed") and not sealed:
        raise _damaged(path, "the checksum saved with it is gone")
    missing = [key for key in _REQUIRED_KEYS if key not in payload]
    if missing:
        raise _damaged(path, "it lacks " + ", ".join(f"'{key}'" for key in missing))
    if not isinstance(payload["config"], dict) or not isinstance(payload["model_state"], dict):
        raise _damaged(path, "its settings or weights are not stored as expected")
    try:
        return _checkpoint_from(payload)
    except (TypeError, ValueError) as error:  # a crafted or damaged file: wrong field types
        raise _damaged(path, f"a field holds the wrong kind of value ({error})") from error


def _checkpoint_from(payload: dict) -> Checkpoint:
    return Checkpoint(
        config=TrainConfig.from_dict(payload["config"]),
        model_state=payload["model_state"],
        optimizer_state=payload["optimizer_state"],
        scheduler_state=payload["scheduler_state"],
        scaler_state=payload["scaler_state"],
        epoch=int(payload["epoch"]),
        history=list(payload["history"]),
        class_names=tuple(payload["class_names"]),
        mean=tuple(payload["mean"]),
        std=tuple(payload["std"]),
        in_channels=int(payload["in_channels"]),
        input_size=int(payload["input_size"]),
        is_digits=bool(payload["is_digits"]),
        changes=_changes(payload.get("changes", [])),
        assumed=_text(payload.get("assumed", "")),
        data_fingerprint=_fingerprint(payload.get("data_fingerprint")),
    )


def _fingerprint(value: Any) -> dict[str, Any] | None:
    if value is not None and not is_fingerprint(value):
        raise TypeError("'data_fingerprint' is not a fingerprint of a dataset")
    return value


def _changes(records: Any) -> list[dict]:
    """The mid-run changes a file holds, checked to be what SettingsChanged records are."""
    if not isinstance(records, list):
        raise TypeError("'changes' is not a list of settings changes")
    try:
        return [SettingsChanged.from_record(record).as_record() for record in records]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise TypeError(f"'changes' holds something other than settings changes: "
                        f"{error!r}") from error


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, found {type(value).__name__}")
    return value


def _is_bare_weights(payload: Any) -> bool:
    return (isinstance(payload, dict) and bool(payload)
            and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                    for k, v in payload.items()))


def bare_weights_checkpoint(path: Path, state: dict[str, torch.Tensor]) -> Checkpoint:
    """A checkpoint for bare weights (a PyTorch state_dict) that fit exactly one network.

    Everything the file does not record is assumed and said in `assumed`: the classes and
    normalisation of the standard dataset for that shape (MNIST for 10 greyscale classes,
    CIFAR-10 for 10 colour classes), numbered classes otherwise.
    """
    matches = matching_networks(state)
    bare = (f"'{path}' holds only model weights (a bare PyTorch state_dict), not a TrainDesk "
            "checkpoint, so it lacks the network, classes, input size and normalisation.")
    if not matches:
        first = next(iter(state))
        raise CheckpointError(
            f"{bare} Its {plural(len(state), 'tensor')} (first '{first}') fit none of "
            "TrainDesk's networks for 1 or 3 channels. Load them in the script that defined "
            "their network, or train the network in TrainDesk and open the checkpoint it "
            "saves.")
    if len({(m.arch, m.in_channels) for m in matches}) > 1:
        raise CheckpointError(
            f"{bare} They fit several networks equally: "
            + "; ".join(m.describe() for m in matches)
            + ". TrainDesk cannot tell which one they were trained as. Train the network "
            "in TrainDesk and open the checkpoint it saves, which records it.")
    match = matches[0]
    digits = match.in_channels == 1 and match.num_classes == 10
    photos = match.in_channels == 3 and match.num_classes == 10
    if digits:
        dataset, names, mean, std = "mnist", tuple("0123456789"), (0.1307,), (0.3081,)
        classes, normalisation = ("MNIST's digit classes 0-9",
                                  "MNIST's normalisation (mean 0.1307, std 0.3081)")
    elif photos:
        dataset, names = "cifar10", CIFAR10_CLASSES
        mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
        classes, normalisation = ("CIFAR-10's classes (airplane … truck)",
                                  "CIFAR-10's normalisation (mean 0.49/0.48/0.45, std "
                                  "0.25/0.24/0.26)")
    else:
        dataset = "folder"
        names = tuple(f"class {i + 1}" for i in range(match.num_classes))
        mean, std = (0.5,) * match.in_channels, (0.5,) * match.in_channels
        classes = f"classes numbered 1-{match.num_classes}"
        normalisation = "pixels scaled to -1..1 (mean 0.5, std 0.5)"
    if is_pretrained(match.arch):  # torchvision's own weights, or fine-tuned from them
        _size, mean, std = pretrained.preprocessing(match.arch)
        normalisation = ("ImageNet's normalisation (mean " + "/".join(f"{m:.3f}" for m in mean)
                         + ", std " + "/".join(f"{v:.3f}" for v in std)
                         + "), which its weights expect")
    said = f"{classes} and {normalisation}"
    assumed = (f"Opened bare weights (not a TrainDesk checkpoint) as {match.describe()}. "
               f"Assumed {said}; if they were trained otherwise, predictions will be wrong.")
    model_state = unwrapped(state)
    config = TrainConfig(arch=match.arch, dataset=dataset, epochs=1,
                         image_size=0 if match.any_size else match.input_size)
    return Checkpoint(config=config, model_state=model_state, optimizer_state=None,
                      scheduler_state=None, scaler_state=None, epoch=0, history=[],
                      class_names=names, mean=mean, std=std, in_channels=match.in_channels,
                      input_size=match.input_size, is_digits=digits, assumed=assumed)


def _not_traindesk(path: Path, payload: Any) -> CheckpointError:
    return CheckpointError(
        f"'{path}' is a PyTorch file but not a TrainDesk checkpoint (it holds a "
        f"{type(payload).__name__}). Choose a checkpoint saved by TrainDesk."
    )


def _unreadable(path: Path, error: Exception) -> CheckpointError:
    """Explain why torch.load could not read the file."""
    if isinstance(error, pickle.UnpicklingError) and _pickle_imports_code(path):
        return CheckpointError(
            f"Refused to open '{path}': it contains Python objects that would run code when "
            "loaded, not just weights and settings. Nothing in it was run. Open only "
            "checkpoints saved by TrainDesk."
        )
    try:
        damaged = _is_damaged_torch_zip(path)
    except Exception:  # noqa: BLE001 - zipfile fails in many ways on a broken archive
        damaged = True
    if damaged:
        return _damaged(path, "it was probably cut off while being saved or copied")
    return _not_a_checkpoint(path)


def _not_a_checkpoint(path: Path) -> CheckpointError:
    return CheckpointError(
        f"'{path}' is not a TrainDesk checkpoint: it is not a file saved by PyTorch. Choose "
        "a checkpoint file saved by TrainDesk."
    )


def _damaged(path: Path, what: str) -> CheckpointError:
    return CheckpointError(
        f"The checkpoint '{path}' is damaged or incomplete: {what}. Use an intact copy or an "
        "earlier checkpoint."
    )


def _is_damaged_torch_zip(path: Path) -> bool:
    """Whether the file starts like torch.save's zip archive but cannot be read as one.

    TrainDesk always writes that format, so this is how a cut-off checkpoint looks.
    """
    with open(path, "rb") as stream:
        if stream.read(4) != b"PK\x03\x04":
            return False
    if not zipfile.is_zipfile(path):  # the table of contents at the end is gone
        return True
    with zipfile.ZipFile(path) as archive:  # an intact zip: damaged only if torch wrote it
        return any(name.endswith("data.pkl") for name in archive.namelist())


def _pickle_imports_code(path: Path) -> bool:
    """Whether a pickle in the file imports callables, found without running anything.

    Used only to explain why `weights_only` refused a file. pickletools decodes opcodes; it
    never imports or calls what they name.
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.endswith("data.pkl")]
                data = archive.read(names[0]) if names else b""
        else:
            with open(path, "rb") as stream:
                data = stream.read(_SCAN_LIMIT_BYTES)
    except Exception:  # noqa: BLE001 - a broken archive fails in many ways; nothing is run
        return False
    stream = io.BytesIO(data)  # reads past the end return short, never allocate huge buffers
    # A legacy torch file is several pickles in a row: check each complete one.
    while True:
        try:
            opcodes = {op.name for op, _arg, _pos in pickletools.genops(stream)}
        except ValueError:  # not, or no longer, a whole pickle
            return False
        if opcodes & _IMPORT_OPCODES:
            return True

