"""A trained model as a file other programs can run: TorchScript or ONNX, with a JSON sidecar.

The exported network is the checkpoint's, wrapped with the preparation the app applies to
every image: it takes float images on the 0..1 scale, shaped (N, C, H, W) at any H and W,
shrinks or enlarges them to the training images' stored size with an antialiased bilinear
filter (as Pillow's, which the app uses, within a grey level), then to the network's input
size and normalises them as a training batch is (`engine.data.pipeline.
resize_and_normalise`), and returns class probabilities (softmax). So a user applies no
normalisation of their own. The sidecar (`<file>.json`) records the class names, the
normalisation (already inside), the input size and channels, the architecture, and in
"prepare" the app's own recipe for an image file (engine/inference/export_recipe.py): an image
prepared by it gives the file exactly the app's input, hence the app's answers.

TorchScript needs only PyTorch (`torch.jit.load`); ONNX needs the `onnx` extra
(`pip install "traindesk[onnx]"`: onnx, onnxscript and onnxruntime) and runs anywhere ONNX
Runtime does. Each export is loaded back and checked against the checkpoint's own model
before it is reported done.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.catalog import arch_title, dataset_title
from engine.inference.export_recipe import prepare_recipe
from engine.inference.image_input import InputRecipe
from engine.records.atomic_files import temp_path, write_text_atomic
from engine.records.checkpoint import Checkpoint, build_model_from_checkpoint
from engine.records.run_folder import is_run_file_name, name_problem
from engine.version import app_version

FORMATS = ("torchscript", "onnx")
SUFFIXES = {"torchscript": ".pt", "onnx": ".onnx"}
ONNX_OPSET = 18
INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"
# The largest difference in any probability between the exported file and the checkpoint's
# model on the check images: float32 arithmetic in another order stays far below it.
CHECK_TOLERANCE = 1e-4
_CHECK_IMAGES = 4


class ExportError(RuntimeError):
    """The model could not be exported; the message says why and what to do."""


@dataclass(frozen=True)
class ExportResult:
    path: Path  # the model file
    sidecar: Path  # its JSON description
    format: str
    bytes: int  # the model file's size


class ClassifierWithPreprocessing(nn.Module):
    """The checkpoint's network behind the app's resize and normalisation, with a softmax:
    0..1 images (N, C, H, W) in, class probabilities (N, classes) out."""

    def __init__(self, model: nn.Module, ckpt: Checkpoint) -> None:
        super().__init__()
        self.model = model
        self.input_size = int(ckpt.input_size)
        self.stored_size = _stored_size(ckpt)
        shape = (1, ckpt.in_channels, 1, 1)
        self.register_buffer("mean", _per_channel(ckpt.mean, ckpt.in_channels).view(shape))
        self.register_buffer("std", _per_channel(ckpt.std, ckpt.in_channels).view(shape))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # Always resized: at the stored size already, the resize is the identity, and a
        # traced or exported graph then works for any input size. The antialiased filter
        # matters when shrinking a full-size image (see engine/inference/export_recipe.py).
        side = self.stored_size
        x = F.interpolate(images, size=(side, side), mode="bilinear", align_corners=False,
                          antialias=True)
        if side != self.input_size:  # as each training batch is resized
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear",
                              align_corners=False, antialias=False)
        return torch.softmax(self.model((x - self.mean) / self.std), dim=1)


def default_export_path(checkpoint_path: str | Path, fmt: str) -> Path:
    """Beside the checkpoint: run/checkpoint.pt -> run/checkpoint.torchscript.pt, .onnx."""
    path = Path(checkpoint_path)
    return path.with_name(f"{path.stem}.{fmt}{SUFFIXES[fmt]}" if fmt == "torchscript"
                          else f"{path.stem}{SUFFIXES[fmt]}")


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


def output_problem(path: str | Path, source: str | Path | None = None) -> str | None:
    """Why an exported model must not be written to path, or None: path is the checkpoint
    exported (`source`), or it or its sidecar has the name of a run folder's own file
    (checkpoint.pt, best.pt, metrics.jsonl, run.jsonl, ...: engine.records.run_folder), which an
    exported model would replace, or be taken for, and which then neither resumes nor
    exports."""
    path = Path(path).expanduser()
    problem = name_problem(path)
    if problem:
        return f"{path} cannot be written: {problem}."
    suggestion = f"Choose another file, e.g. {default_export_path(path, 'torchscript').name}."
    if source is not None:
        with contextlib.suppress(OSError):
            if os.path.samefile(path, Path(source).expanduser()):
                return (f"{path} is the checkpoint being exported: the exported model would "
                        "replace it, and an exported model cannot be resumed or exported "
                        f"again. {suggestion}")
    for name in (path.name, sidecar_path(path).name):
        if is_run_file_name(name):
            return (f"{path} would write {name}, the name of a run folder's own file (its "
                    "checkpoint, best epoch's checkpoint or record): an exported model there "
                    f"would replace that file or be taken for it. {suggestion}")
    return None


def export_model(ckpt: Checkpoint, path: str | Path, fmt: str,
                 source: str | Path | None = None) -> ExportResult:
    """Export in `fmt` (one of FORMATS) to `path`, with its sidecar beside it; `source` is
    the checkpoint file exported, never overwritten (`output_problem`)."""
    problem = output_problem(path, source)
    if problem:
        raise ExportError(problem)
    if fmt == "torchscript":
        return export_torchscript(ckpt, path)
    if fmt == "onnx":
        return export_onnx(ckpt, path)
    raise ExportError(f"Unknown export format '{fmt}': choose one of {', '.join(FORMATS)}.")


def export_torchscript(ckpt: Checkpoint, path: str | Path) -> ExportResult:
    """A TorchScript file (torch.jit.load) that takes 0..1 images and returns probabilities."""
    path = Path(path).expanduser()
    wrapper, example = _wrapped(ckpt)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # torch.jit is deprecated in favour of torch.export, whose files need PyTorch 2
            # to load: TorchScript still loads everywhere (C++ libtorch, older PyTorch).
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(wrapper, example, check_trace=False)
    except Exception as error:  # noqa: BLE001 - tracing fails in many shapes
        raise ExportError(f"{arch_title(ckpt.config.arch)} could not be traced to TorchScript: "
                          f"{type(error).__name__}: {error}. Export to ONNX instead.") from error

    def check(temp: Path) -> None:
        _check(wrapper, torchscript_runner(temp), ckpt, path)

    def write(temp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "torch.jit is deprecated"
            torch.jit.save(traced, str(temp))

    _write_checked(path, write, check)
    return _finish(ckpt, path, "torchscript")


def export_onnx(ckpt: Checkpoint, path: str | Path) -> ExportResult:
    """An ONNX file (opset ONNX_OPSET) with a dynamic batch and image size, that passes
    onnx.checker and (when onnxruntime is installed) predicts what the model predicts."""
    onnx = _require("onnx")
    _require("onnxscript")
    path = Path(path).expanduser()
    wrapper, example = _wrapped(ckpt)
    batch = torch.export.Dim("batch", min=1)
    height, width = torch.export.Dim("height", min=2), torch.export.Dim("width", min=2)

    def write(temp: Path) -> None:
        try:
            with warnings.catch_warnings(), _quiet_stdout():
                warnings.simplefilter("ignore")
                program = torch.onnx.export(
                    wrapper, (example,), dynamo=True, opset_version=ONNX_OPSET,
                    input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                    dynamic_shapes={"images": {0: batch, 2: height, 3: width}},
                    external_data=False, verbose=False)
        except Exception as error:  # noqa: BLE001 - the exporter fails in many shapes
            raise ExportError(f"{arch_title(ckpt.config.arch)} could not be exported to ONNX: "
                              f"{type(error).__name__}: {error}. Export to TorchScript "
                              "instead.") from error
        program.save(str(temp), external_data=False)

    def check(temp: Path) -> None:
        try:
            onnx.checker.check_model(str(temp), full_check=True)
        except Exception as error:  # noqa: BLE001 - the checker's own error types vary
            raise ExportError(f"The ONNX export of {arch_title(ckpt.config.arch)} fails the "
                              f"ONNX checker ({error}). Export to TorchScript "
                              "instead.") from error
        runner = onnxruntime_runner(temp)
        if runner is not None:
            _check(wrapper, runner, ckpt, path)

    _write_checked(path, write, check)
    return _finish(ckpt, path, "onnx")


def describe(ckpt: Checkpoint, fmt: str, file_name: str) -> dict[str, Any]:
    """What the sidecar says: enough to use the file without TrainDesk."""
    config = ckpt.config
    stored = _stored_size(ckpt)
    last = ckpt.history[-1] if ckpt.history else {}
    return {
        "exported_by": f"TrainDesk {app_version()}",
        "format": fmt,
        "file": file_name,
        "architecture": config.arch,
        "architecture_title": arch_title(config.arch),
        "dataset": config.dataset,
        "dataset_title": dataset_title(config.dataset),
        "epochs": ckpt.epoch,
        "test_accuracy": last.get("test_acc"),
        "class_names": list(ckpt.class_names),
        "input": {
            "name": INPUT_NAME,
            "layout": "NCHW",
            "dtype": "float32",
            "value_range": [0.0, 1.0],
            "channels": ckpt.in_channels,
            "image_size": stored,
            "network_input_size": ckpt.input_size,
            "resized_inside": True,
            "digits": ckpt.is_digits,  # handwritten digits: the app also doubts non-digits
        },
        "normalisation": {
            "mean": list(ckpt.mean),
            "std": list(ckpt.std),
            "applied_inside": True,
        },
        "output": {"name": OUTPUT_NAME, "kind": "probabilities (softmax)",
                   "shape": ["N", len(ckpt.class_names)]},
        "preprocessing": _preprocessing_text(ckpt, stored),
        "prepare": prepare_recipe(ckpt),
        **({"onnx_opset": ONNX_OPSET} if fmt == "onnx" else {}),
    }


def _preprocessing_text(ckpt: Checkpoint, stored: int) -> str:
    channels = "greyscale" if ckpt.in_channels == 1 else f"{ckpt.in_channels}-channel (RGB)"
    text = (f"Give {channels} images as float32 (N, {ckpt.in_channels}, H, W) with values "
            f"from 0 to 1 (pixel / 255), prepared as 'prepare' says (the app's way: squashed "
            f"to {stored}x{stored} with Pillow's bilinear filter) for the app's answers. The "
            f"file resizes any other size itself (antialiased bilinear to {stored}x{stored}, "
            f"close to the app but not always the same answer), then to {ckpt.input_size}x"
            f"{ckpt.input_size}, and normalises them with the mean and std above: do not "
            "normalise them yourself.")
    if ckpt.is_digits:
        text += (" Digits must be in MNIST's form: white ink on black, the ink cropped to "
                 "its bounding box, scaled (aspect kept) so the longer side is 20 px, pasted "
                 "into a 28x28 image with its centre of mass at pixel (14, 14) "
                 "(TrainDesk's engine.inference.predict.preprocess_image does all of it).")
    return text


def _stored_size(ckpt: Checkpoint) -> int:
    """The side of the training images as the dataset stored them (28 for MNIST, the
    network's input size for an image folder): the app's own rule, in its input recipe."""
    return InputRecipe.from_checkpoint(ckpt).stored_size


def _wrapped(ckpt: Checkpoint) -> tuple[ClassifierWithPreprocessing, torch.Tensor]:
    wrapper = ClassifierWithPreprocessing(build_model_from_checkpoint(ckpt), ckpt).eval()
    size = _stored_size(ckpt)
    example = torch.rand(2, ckpt.in_channels, size, size,
                         generator=torch.Generator().manual_seed(0))
    return wrapper, example


def _check(wrapper: nn.Module, run, ckpt: Checkpoint, path: Path) -> None:
    """The exported file must give the model's probabilities, at two image sizes."""
    generator = torch.Generator().manual_seed(1)
    for size in (ckpt.input_size, ckpt.input_size + 5):
        images = torch.rand(_CHECK_IMAGES, ckpt.in_channels, size, size, generator=generator)
        with torch.no_grad():
            expected = wrapper(images).numpy()
        got = np.asarray(run(images.numpy()))
        if got.shape != expected.shape or not np.allclose(got, expected, atol=CHECK_TOLERANCE):
            raise ExportError(
                f"The exported file {path} does not predict what the model predicts "
                f"(largest difference {np.abs(got - expected).max():.2g} on {size}x{size} "
                "images): this architecture does not export faithfully to this format. "
                "Try the other format.")


def torchscript_runner(path: Path, device: str | torch.device = "cpu"):
    """An exported TorchScript file as a function: float32 images (N, C, H, W) as numpy ->
    probabilities (N, classes) as numpy (the model runs on `device`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(str(path), map_location=device)

    def run(images: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return loaded(torch.from_numpy(images).to(device)).cpu().numpy()

    return run


def onnxruntime_runner(path: Path):
    """An exported ONNX file as a function, as torchscript_runner's (on the CPU); None when
    onnxruntime is not installed."""
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(images: np.ndarray) -> np.ndarray:
        return session.run([OUTPUT_NAME], {INPUT_NAME: images.astype(np.float32)})[0]

    return run


def _finish(ckpt: Checkpoint, path: Path, fmt: str) -> ExportResult:
    sidecar = sidecar_path(path)
    text = json.dumps(describe(ckpt, fmt, path.name), indent=2) + "\n"
    try:
        write_text_atomic(sidecar, text)
    except OSError as error:
        raise ExportError(f"Could not write {sidecar}: {error.strerror or error}.") from error
    return ExportResult(path=path, sidecar=sidecar, format=fmt, bytes=path.stat().st_size)


def _write_checked(path: Path, write, check) -> None:
    """write(temp) fills a temporary file beside `path`; check(temp) raises ExportError if it
    is not right; only a file that passed replaces `path`."""
    temp = temp_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(temp)
        check(temp)
        os.replace(temp, path)
    except OSError as error:
        raise ExportError(f"Could not write {path}: {error.strerror or error}. Choose "
                          "another folder or free some space.") from error
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as error:
        raise ExportError(f"Exporting to ONNX needs the '{module}' package, which is not "
                          "installed: pip install \"traindesk[onnx]\" (or export to "
                          "TorchScript, which needs nothing more).") from error


@contextlib.contextmanager
def _quiet_stdout():
    """torch.onnx.export prints its progress ("[torch.onnx] Obtain model graph..."); a CLI
    keeps stdout for its result."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


def _per_channel(values, channels: int) -> torch.Tensor:
    tensor = torch.as_tensor(values, dtype=torch.float32).flatten()
    return tensor.repeat(channels) if tensor.numel() == 1 else tensor
