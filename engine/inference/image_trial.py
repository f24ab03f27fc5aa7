"""Try a trained model on a person's own images: what it answers, and what it saw.

One call per batch of images (files opened or dropped, a pasted picture, a folder for
`traindesk predict`); each image gives either its prediction or a message saying why it
could not be read, so one bad file in a folder's worth does not lose the others. Each image
is prepared alone, exactly as `try_image` prepares it (engine.inference.image_input), and the
model reads them BATCH_SIZE at a time: the Draw tab and the command line share this path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from engine.inference.image_input import (
    ImageInputError,
    ImageSource,
    InputRecipe,
    as_seen,
    read_image,
    source_name,
    thumbnail,
    to_model_input,
)
from engine.inference.predict import Predictor

THUMBNAIL_SIDE = 48  # pixels: a list row's picture of the image
BATCH_SIZE = 32  # images the model reads at once


class BatchClassifier(Protocol):
    """A model that reads prepared inputs in batches: a checkpoint's `Predictor`, or an
    exported file's (engine.inference.model_files)."""

    class_names: tuple[str, ...]
    device: torch.device

    def predict_batch(self, inputs: torch.Tensor) -> np.ndarray:
        """(N, C, S, S) prepared inputs -> (N, num_classes) probabilities."""
        ...


@dataclass(frozen=True)
class ImageTrial:
    """The model's answer for one image."""

    name: str  # the file's name, or "the pasted image"
    probabilities: np.ndarray  # (num_classes,), summing to 1
    # The model's input de-normalised, (S, S) grey or (S, S, 3) uint8, and the image itself
    # small, (h, w, 3) uint8; None where not kept (predictions written to a file).
    seen: np.ndarray | None
    thumbnail: np.ndarray | None
    image_size: tuple[int, int]  # (width, height) as decoded (large images decode smaller)
    note: str = ""  # how it was read, when a person should know ("" when nothing)

    def ranked(self, count: int) -> list[int]:
        """The indices of the `count` likeliest classes, likeliest first."""
        return [int(i) for i in np.argsort(-self.probabilities, kind="stable")[:count]]


@dataclass(frozen=True)
class ImageFailure:
    """An image that could not be tried; `message` says why and what to do."""

    name: str
    message: str


def try_image(predictor: Predictor, recipe: InputRecipe, source: ImageSource,
              name: str | None = None) -> ImageTrial:
    """Predict one image as the model's training pipeline would have fed it.

    Raises ImageInputError when it cannot be read, ValueError or RuntimeError when the model
    cannot take it (a model and recipe that do not belong together).
    """
    label = name or source_name(source)
    image = read_image(source, label)
    model_input = to_model_input(image, recipe, label, predictor.device)
    probabilities = predictor.predict_input(model_input.tensor)
    return ImageTrial(name=label, probabilities=probabilities,
                      seen=as_seen(model_input.tensor, recipe),
                      thumbnail=thumbnail(image, THUMBNAIL_SIDE), image_size=image.size,
                      note=model_input.note)


def try_images(predictor: BatchClassifier, recipe: InputRecipe,
               sources: Sequence[tuple[str, ImageSource]], batch_size: int = BATCH_SIZE,
               pictures: bool = True) -> list[ImageTrial | ImageFailure]:
    """Each (name, source)'s answer, in order, the model reading `batch_size` images at a
    time; an unreadable one gives its failure. `pictures`: keep what the model saw and a
    thumbnail (a table shows them; a file of predictions does not need them)."""
    if batch_size < 1:
        raise ValueError(f"The batch size must be at least 1, not {batch_size}.")
    results: list[ImageTrial | ImageFailure] = []
    for start in range(0, len(sources), batch_size):
        results += _try_batch(predictor, recipe, sources[start:start + batch_size], pictures)
    return results


def _try_batch(predictor: BatchClassifier, recipe: InputRecipe,
               sources: Sequence[tuple[str, ImageSource]],
               pictures: bool) -> list[ImageTrial | ImageFailure]:
    results: list[ImageTrial | ImageFailure | None] = []
    prepared = []  # (row, name, decoded image, its ModelInput)
    for name, source in sources:
        try:
            image = read_image(source, name)
            prepared.append((len(results), name, image,
                             to_model_input(image, recipe, name, predictor.device)))
            results.append(None)
        except ImageInputError as error:
            results.append(ImageFailure(name, str(error)))
        except (ValueError, RuntimeError) as error:  # the recipe cannot take this image
            results.append(ImageFailure(name, f"The model cannot read {name}: {error}"))
    if prepared:
        try:
            probabilities = predictor.predict_batch(
                torch.cat([model_input.tensor for *_, model_input in prepared]))
        except (ValueError, RuntimeError) as error:  # the model cannot take these inputs
            for row, name, _, _ in prepared:
                results[row] = ImageFailure(name, f"The model cannot read {name}: {error}")
        else:
            for (row, name, image, model_input), answer in zip(prepared, probabilities,
                                                                strict=True):
                results[row] = ImageTrial(
                    name=name, probabilities=answer,
                    seen=as_seen(model_input.tensor, recipe) if pictures else None,
                    thumbnail=thumbnail(image, THUMBNAIL_SIDE) if pictures else None,
                    image_size=image.size, note=model_input.note)
    return [result for result in results if result is not None]
