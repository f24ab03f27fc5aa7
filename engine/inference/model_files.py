"""A model file to predict with: a checkpoint (or a run folder's) or an exported model.

`traindesk predict` takes any of them and reads every image the same way
(engine.inference.image_trial.try_images): a checkpoint's model gets its training
pipeline's input (image_input.InputRecipe.from_checkpoint); an exported model (TorchScript
or ONNX, engine/inference/export.py) resizes and normalises inside, so it gets the same
image prepared up to the training images' stored size on the 0..1 scale, as its sidecar's
"prepare" says. Both give the same answers (tests/engine/test_predict_cli.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.catalog import DATASET_INFO, arch_title, dataset_title
from engine.inference.export import onnxruntime_runner, sidecar_path, torchscript_runner
from engine.inference.image_input import InputRecipe
from engine.inference.image_trial import BatchClassifier
from engine.inference.predict import Predictor
from engine.records.checkpoint import CheckpointError, exported_model_kind, load_checkpoint
from engine.records.run_folder import BEST_FILE, CHECKPOINT_FILE


class ModelFileError(ValueError):
    """The model cannot be opened; the message says why and what to do."""


@dataclass(frozen=True)
class OpenedModel:
    classifier: BatchClassifier
    recipe: InputRecipe
    path: Path  # the file read (a run folder's best.pt or checkpoint.pt)
    description: str  # "LeNet-5 on MNIST (sample), best.pt (epoch 3)"


def open_model(path: str | Path, device: str | torch.device = "cpu") -> OpenedModel:
    """A checkpoint, a run folder (its best epoch's checkpoint, else its last) or an exported
    model with its sidecar beside it. Raises ModelFileError."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = _run_checkpoint(path)
    kind = exported_model_kind(path) if path.is_file() else None
    if kind is not None:
        return _open_exported(path, kind, torch.device(device))
    try:
        ckpt = load_checkpoint(path)
        predictor = Predictor.from_checkpoint(ckpt, device=str(device))
    except (CheckpointError, ValueError) as error:
        raise ModelFileError(str(error)) from error
    what = (f"{arch_title(ckpt.config.arch)} on {dataset_title(ckpt.config.dataset)}, "
            f"{path.name} (epoch {ckpt.epoch})")
    return OpenedModel(predictor, InputRecipe.from_checkpoint(ckpt), path, what)


def recipe_from_sidecar(info: dict[str, Any]) -> InputRecipe:
    """How to prepare an image for an exported model: as for its checkpoint up to the stored
    size, then no resize and no normalisation (the model does both inside)."""
    spec = info["input"]
    dataset = DATASET_INFO.get(str(info.get("dataset", "")))
    size = int(spec["image_size"])
    return InputRecipe(channels=int(spec["channels"]), stored_size=size, input_size=size,
                       mean=(0.0,), std=(1.0,), is_digits=bool(spec.get("digits", False)),
                       mnist_style=dataset is not None and dataset.mnist_style,
                       objects_on_black=dataset is not None and dataset.objects_on_black)


class ExportedClassifier:
    """An exported model (TorchScript or ONNX) as a BatchClassifier."""

    def __init__(self, run, class_names: tuple[str, ...], device: torch.device) -> None:
        self._run = run  # float32 numpy (N, C, H, W) on 0..1 -> probabilities (N, classes)
        self.class_names = class_names
        self.device = device

    def predict_batch(self, inputs: torch.Tensor) -> np.ndarray:
        probabilities = np.asarray(self._run(inputs.detach().float().cpu().numpy()))
        if probabilities.shape != (len(inputs), len(self.class_names)):
            raise ValueError(f"The exported model gave outputs of shape "
                             f"{probabilities.shape} for {len(inputs)} image(s), but its "
                             f"description names {len(self.class_names)} classes: the model "
                             "and its .json file do not belong together.")
        return probabilities


def _run_checkpoint(folder: Path) -> Path:
    for name in (BEST_FILE, CHECKPOINT_FILE):
        if (folder / name).is_file():
            return folder / name
    raise ModelFileError(f"'{folder}' holds no {BEST_FILE} or {CHECKPOINT_FILE}: give a run "
                         "folder of a run that finished an epoch, a checkpoint, or an "
                         "exported model.")


def _open_exported(path: Path, kind: str, device: torch.device) -> OpenedModel:
    sidecar = sidecar_path(path)
    try:
        info = json.loads(sidecar.read_text(encoding="utf-8"))
        recipe = recipe_from_sidecar(info)
        class_names = tuple(str(name) for name in info["class_names"])
    except FileNotFoundError as error:
        raise ModelFileError(f"'{path}' is an exported model ({kind}) without its description "
                             f"{sidecar.name} beside it (class names, input size): put the "
                             ".json file written with it back, or give the checkpoint it was "
                             "exported from.") from error
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelFileError(f"{sidecar} does not describe an exported model ({error}): "
                             "export the model again, or give its checkpoint.") from error
    try:
        run = (torchscript_runner(path, device) if kind == "TorchScript"
               else onnxruntime_runner(path))
    except Exception as error:  # noqa: BLE001 - both runtimes fail in many shapes
        raise ModelFileError(f"The exported model '{path}' cannot be loaded ({error}): it may "
                             "be damaged; export it again.") from error
    if run is None:
        raise ModelFileError(f"Running the ONNX model '{path}' needs onnxruntime: pip "
                             "install \"traindesk[onnx]\" (or give the checkpoint it was "
                             "exported from).")
    if kind != "TorchScript":
        device = torch.device("cpu")  # onnxruntime's CPU provider
    what = (f"{info.get('architecture_title', 'a model')} on "
            f"{info.get('dataset_title', 'its dataset')}, exported {kind} {path.name}")
    return OpenedModel(ExportedClassifier(run, class_names, device), recipe, path, what)
