"""Try a trained model on a person's own images: what it answers, and what it saw.

One call per batch of images (files opened or dropped, a pasted picture); each image gives
either its prediction or a message saying why it could not be read, so one bad file in a
dropped folder's worth does not lose the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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


@dataclass(frozen=True)
class ImageTrial:
    """The model's answer for one image."""

    name: str  # the file's name, or "the pasted image"
    probabilities: np.ndarray  # (num_classes,), summing to 1
    seen: np.ndarray  # the model's input de-normalised: (S, S) grey or (S, S, 3) uint8
    thumbnail: np.ndarray  # the image itself, small: (h, w, 3) uint8
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


def try_images(predictor: Predictor, recipe: InputRecipe,
               sources: Sequence[tuple[str, ImageSource]]) -> list[ImageTrial | ImageFailure]:
    """try_image for each (name, source), in order; an unreadable one gives its failure."""
    results: list[ImageTrial | ImageFailure] = []
    for name, source in sources:
        try:
            results.append(try_image(predictor, recipe, source, name))
        except ImageInputError as error:
            results.append(ImageFailure(name, str(error)))
        except (ValueError, RuntimeError) as error:  # the model cannot take this input
            results.append(ImageFailure(name, f"The model cannot read {name}: {error}"))
    return results
