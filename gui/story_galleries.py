"""The Results tab's galleries of the test images' stories up to the epoch on screen
(engine/image_story.py): learned last, forgotten most, never learned.

Each thumbnail's caption says its class (and the wrong answer), the story's fact (learned
at epoch k, forgotten n times, never right) and the confidence at the epoch on screen: three
lines in every thumbnail of a gallery, so its captions line up.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine import image_story
from engine.analysis import Evaluation
from engine.records.sample_history import SampleHistory
from gui.class_charts import elide
from gui.image_marks import ImageMarks
from gui.marked_strips import MarkedStrip
from gui.thumbnails import GALLERY_LIMIT, Describer, ThumbnailCache

GALLERIES = (  # (tab title, tooltip, shown when empty)
    ("Learned last", "Test images right at every epoch since they were learned, the latest "
                     "learned first: the hard ones the network got in the end",
     "No test image learned yet."),
    ("Forgotten most", "Test images right at one epoch and wrong at the next, the most often "
                       "forgotten first (Toneva et al., 2019)",
     "No test image forgotten: none was right at one epoch and wrong at the next."),
    ("Never learned", "Test images wrong at every epoch so far, the furthest from their true "
                      "class first: often mislabelled or ambiguous",
     "Every test image was right at some epoch."),
)


class StoryGalleries:
    """The three galleries (`strips`, in GALLERIES' order), filled by `fill`."""

    def __init__(self, cache: ThumbnailCache, marks: ImageMarks | None,
                 original: Callable[[int], int]) -> None:
        self.strips = tuple(MarkedStrip(cache, empty, marks, "test", original)
                            for _title, _tip, empty in GALLERIES)

    def fill(self, history: SampleHistory | None, evaluation: Evaluation | None,
             names: list[str]) -> None:
        """Show the stories of `history` (up to the epoch on screen, `evaluation`'s);
        empty galleries without one."""
        if history is None or evaluation is None:
            for strip in self.strips:
                strip.show_images(np.empty(0, dtype=np.int64), lambda _i: ("", ""))
            return
        learned = image_story.learned_at(history)
        forgotten = image_story.forgetting_counts(history)
        facts: tuple[Callable[[int], str], ...] = (
            lambda i: f"learned at {learned[i]}",
            lambda i: f"forgotten {forgotten[i]}×",
            lambda _i: "never right",
        )
        rows = (image_story.learned_last(history, GALLERY_LIMIT, learned),
                image_story.forgotten_most(history, GALLERY_LIMIT, forgotten),
                image_story.never_learned_rows(history, GALLERY_LIMIT))
        for strip, fact, chosen in zip(self.strips, facts, rows, strict=True):
            strip.show_images(np.asarray(chosen, dtype=np.int64),
                              _describer(history, evaluation, names, fact))

    def titles(self) -> list[tuple[str, str]]:
        """Each gallery's tab title (with its count) and tooltip."""
        titles = []
        for strip, (title, tip, _empty) in zip(self.strips, GALLERIES, strict=True):
            count = strip.strip_model.rowCount()
            titles.append((f"{title} ({count:,})" if count else title, tip))
        return titles


def _describer(history: SampleHistory, evaluation: Evaluation, names: list[str],
               fact: Callable[[int], str]) -> Describer:
    def describe(row: int) -> tuple[str, str]:
        true_class, predicted = int(evaluation.labels[row]), int(evaluation.predicted[row])
        confidence = float(evaluation.confidence[row])
        first = elide(names[true_class], 12)
        if predicted != true_class:
            first = f"{elide(names[true_class], 5)} → {elide(names[predicted], 5)}"
        tooltip = (f"Test image {row + 1:,}: true {names[true_class]}, predicted "
                   f"{names[predicted]} at {confidence:.1%} after epoch {evaluation.epoch}; "
                   f"{image_story.story_text(history, row)}")
        return f"{first}\n{fact(row)}\n{confidence:.0%}", tooltip

    return describe
