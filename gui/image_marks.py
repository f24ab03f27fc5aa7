"""The images a person marked in the run on screen: "mislabelled" or "leave out".

The window owns one `ImageMarks`; the galleries mark and show marks through it, and
"Train again without them" reads it. An image is named by its split ("train" or "test") and
its ORIGINAL index in the dataset (before a child run left images out), so marks made on a
child run's galleries still name the right files. The marks belong to the run on screen:
the Results tab, which shows them, clears them when another run is shown.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

SPLITS = ("train", "test")
MISLABELLED, LEAVE_OUT = "mislabelled", "leave out"
REASONS = (MISLABELLED, LEAVE_OUT)


class ImageMarks(QObject):
    """Marked images by (split, original index); `changed` after every change."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._marks: dict[tuple[str, int], str] = {}

    def mark(self, split: str, index: int, reason: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"split is one of {SPLITS}, not {split!r}")
        if reason not in REASONS:
            raise ValueError(f"reason is one of {REASONS}, not {reason!r}")
        if index < 0:
            raise ValueError(f"an image's index is 0 or more, not {index}")
        key = (split, int(index))
        if self._marks.get(key) != reason:
            self._marks[key] = reason
            self.changed.emit()

    def unmark(self, split: str, index: int) -> None:
        if self._marks.pop((split, int(index)), None) is not None:
            self.changed.emit()

    def toggle(self, split: str, index: int, reason: str) -> None:
        """Mark the image with `reason`, or take the mark off when it has that one already."""
        if self.reason(split, index) == reason:
            self.unmark(split, index)
        else:
            self.mark(split, index, reason)

    def reason(self, split: str, index: int) -> str | None:
        return self._marks.get((split, int(index)))

    def indices(self, split: str) -> tuple[int, ...]:
        """The marked images of one split, by original index, sorted."""
        return tuple(sorted(i for s, i in self._marks if s == split))

    def clear(self) -> None:
        if self._marks:
            self._marks.clear()
            self.changed.emit()

    def count(self) -> int:
        return len(self._marks)
