"""What a run writes to its run folder (engine.records): the claim on the folder, the record
of its events, TensorBoard's event files, and at every epoch's end the config, each test
image's answer (samples.npz), a small model's weights of that epoch (epochs/), the
checkpoint, best.pt and metrics.jsonl.

A run without a run folder (the LR finder, a test, a torchrun process other than rank 0)
writes nothing: every method is then a no-op.
"""

from __future__ import annotations

from pathlib import Path

from engine.analysis import Evaluation
from engine.data.types import ImageDataset
from engine.events import CheckpointSaved, Event, Listener, LogLine
from engine.records import run_folder, runs
from engine.records.checkpoint import Checkpoint, save_checkpoint
from engine.records.run_folder import RunFolder, RunFolderError
from engine.records.run_story import RunStory
from engine.records.tensorboard_log import TensorBoardLog, tensorboard_installed
from engine.training.outcomes import SaveFailed


class RunRecords:
    """The run folder of one run, from its claim to its release."""

    def __init__(self, run_dir: Path | None, resume_from: str | Path | None,
                 tensorboard: bool, keep_epochs: bool = True) -> None:
        """tensorboard: also write TensorBoard event files, where the package is installed.
        keep_epochs: a small model's every epoch may be kept (engine/records/run_story.py)."""
        self.run_dir, self.resume_from, self.tensorboard = run_dir, resume_from, tensorboard
        self.keep_epochs = keep_epochs
        self.folder: RunFolder | None = None  # once claimed
        self._recorder: runs.RunRecorder | None = None
        self._tensorboard: TensorBoardLog | None = None
        self.saved_path: Path | None = None  # the run folder's checkpoint, once written
        self.saved_epoch = 0  # the epoch that checkpoint holds
        self._best_saved_epoch: int | None = None  # the epoch best.pt holds, written this run
        self._metrics_started = False
        self._story: RunStory | None = None  # samples.npz and epochs/, once begun

    def open(self, config: dict, listener: Listener) -> None:
        """Claim the run folder before anything is loaded (engine.records.run_folder): one
        holding another run, or one that cannot be written, ends the run at once."""
        if self.run_dir is None:
            return
        self.folder = run_folder.claim(self.run_dir, self.resume_from)
        if self.folder.note:
            listener(LogLine(self.folder.note, "warning"))
        try:
            self._recorder = runs.RunRecorder(self.folder.path, config)
        except OSError as error:
            raise RunFolderError(f"The run folder {self.folder.path} cannot be written "
                                 f"({error.strerror or error}). Choose a folder you can write "
                                 "to; nothing was trained.") from error
        self._tensorboard = self._start_tensorboard(config, listener)

    def _start_tensorboard(self, config: dict, listener: Listener) -> TensorBoardLog | None:
        if not self.tensorboard:
            return None
        if not tensorboard_installed():
            listener(LogLine("TensorBoard event files are not written: the tensorboard "
                             "package is not installed (pip install \"traindesk[tensorboard]\""
                             ").", "warning"))
            return None
        try:
            return TensorBoardLog(self.folder.path, config)
        except (OSError, ImportError) as error:
            listener(LogLine(f"TensorBoard event files are not written: {error}", "warning"))
            return None

    def recording(self, listener: Listener) -> Listener:
        """listener, with each event also written to the run's record once it has one.

        A record that cannot be written (a full disk) is said once and given up; the run
        goes on, and its checkpoint save says for itself whether it worked.
        """

        def record(event: Event) -> None:
            for name in ("_recorder", "_tensorboard"):
                writer = getattr(self, name)
                if writer is None:
                    continue
                try:
                    writer(event)
                except OSError as error:
                    writer.close()
                    setattr(self, name, None)
                    what = "run record" if name == "_recorder" else "TensorBoard log"
                    listener(LogLine(f"The {what} in {self.run_dir} could not be written "
                                     f"({error.strerror or error}); training goes on.",
                                     "warning"))
            listener(event)

        return record

    def start_history(self, dataset: ImageDataset, model_state: dict, arch: str, epoch: int,
                      listener: Listener) -> bool:
        """Begin the run's samples.npz and epochs/ after `epoch` epochs
        (engine/records/run_story.py); whether every epoch's weights are kept."""
        if self.folder is None:
            return False
        self._story = RunStory(self.folder.path, self.resume_from)
        return self._story.begin(dataset, model_state, arch, epoch, listener,
                                 allowed=self.keep_epochs)

    def save_epoch(self, config: dict, saved: Checkpoint, history: list[dict],
                   listener: Listener, evaluation: Evaluation | None = None) -> None:
        """Write the run folder's record of the epoch just done: config, each test image's
        answer (`evaluation`, to samples.npz), the epoch's weights (epochs/, small models),
        checkpoint, metrics.

        The history and epoch's weights first, then the checkpoint (atomically), its line
        in metrics.jsonl after: the record never claims an epoch the checkpoint lacks, nor
        the checkpoint an epoch the history lacks, whenever the run is killed or the disk
        fills (a history one epoch ahead is cut back when the run is continued).
        The first write of a run replaces metrics.jsonl with the whole history, so a run
        resumed into its own folder continues its record without repeating an epoch.
        Raises `SaveFailed` when the folder cannot be written.
        """
        if self.folder is None:
            return
        epoch = saved.epoch
        try:
            run_folder.write_config(self.folder, config)
            if self._story is not None:
                self._story.save(saved, evaluation)
            path = save_checkpoint(self.folder.checkpoint, saved)
        except OSError as error:
            raise SaveFailed(error) from error
        self.saved_path, self.saved_epoch = path, epoch
        best, best_by = runs.best_epoch(history)
        try:
            if best == epoch:  # best.pt: this epoch's checkpoint, linked
                self.folder.keep_as_best(path)
                self._best_saved_epoch = best
            if self._metrics_started:
                run_folder.append_metrics(self.folder, history[-1])
            else:
                run_folder.write_metrics(self.folder, history)
                self._metrics_started = True
        except OSError as error:
            raise SaveFailed(error) from error
        best_path = self.folder.best_checkpoint if self._best_saved_epoch == best else None
        listener(CheckpointSaved(epoch, str(path), best, str(best_path) if best_path else None,
                                 best_by))

    def checkpoint_holding(self, epoch: int) -> Path | None:
        """The run folder's checkpoint if it holds `epoch`."""
        return self.saved_path if self.saved_path is not None and self.saved_epoch == epoch \
            else None

    def discard_if_empty(self) -> None:
        """A record of nothing is no record: a fresh record of a run that saved nothing goes."""
        if (self.folder is not None and self.saved_path is None
                and self._recorder is not None and self._recorder.fresh):
            for record in (self._recorder, self._tensorboard):
                if record is not None:
                    record.discard()
            self._recorder = self._tensorboard = None
            if self._story is not None:
                self._story.discard()

    def close(self) -> None:
        for record in (self._recorder, self._tensorboard):
            if record is not None:
                record.close()

    def release(self) -> None:
        """The claim ends once the record is complete: the lock goes, and a folder this
        run made and left empty (nothing saved) with it."""
        if self.folder is not None:
            run_folder.release(self.folder)
        elif self.run_dir is not None:
            run_folder.unreserve(self.run_dir)
