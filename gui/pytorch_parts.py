"""The parts of the window that need PyTorch: the Model, Draw and Inside tabs.

The window is shown before PyTorch has loaded (gui/engine_loader.py); stand-ins hold these
tabs until it has, then `load` puts the panels in their place, lists the devices in the
settings form and lets the form say which datasets are on disk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.catalog import DATASET_INFO
from engine.config import TrainConfig
from gui.errors import reported_errors
from gui.log_panel import LogPanel
from gui.pending_panel import PendingPanel
from gui.run_controller import RunController
from gui.settings_panel import SettingsPanel

if TYPE_CHECKING:  # these import PyTorch
    from engine.records.checkpoint import Checkpoint
    from gui.draw_panel import DrawPanel
    from gui.summary_panel import SummaryPanel


class PyTorchParts:
    """The three tabs (`model_tab`, `draw_tab`, `inside_tab`), stand-ins until `load`."""

    def __init__(self, controller: RunController, form: SettingsPanel, log: LogPanel) -> None:
        self._controller, self._form, self._log = controller, form, log
        self.summary: SummaryPanel | None = None
        self.draw: DrawPanel | None = None
        self.model_tab = PendingPanel("The layers of the chosen network appear here once "
                                      "PyTorch has loaded (a few seconds).")
        self.draw_tab = PendingPanel("The drawing canvas opens here once PyTorch has loaded "
                                     "(a few seconds).")
        self.inside_tab = PendingPanel("What the network sees appears here once PyTorch has "
                                       "loaded (a few seconds).")

    def load(self) -> None:
        """PyTorch has loaded (call on the GUI thread): make the panels that need it."""
        from engine.data import on_disk
        from engine.runtime.devices import available_devices, resolve_device
        from gui.draw_panel import DrawPanel
        from gui.epoch_networks import EpochNetworks
        from gui.inside_panel import InsidePanel
        from gui.summary_panel import SummaryPanel
        from gui.worker import leave_the_cores_to_training

        leave_the_cores_to_training()
        run = self._controller.run
        self._form.set_devices(available_devices(), str(resolve_device("auto")))
        self._form.set_on_disk_check(on_disk)
        self.summary = SummaryPanel()
        self.summary.follow(run)
        self.model_tab.set_panel(self.summary)
        self.draw = DrawPanel()
        self.draw_tab.set_panel(self.draw)
        self.draw.news.connect(self._log.append_text)
        run.checkpoint_opened.connect(self.draw.add_opened_model)
        self._controller.model_trained.connect(self._take_trained)
        self.draw.load_bundled_model()
        epochs = EpochNetworks(run, self.draw)  # the run's networks epoch by epoch
        self.draw.follow_epochs(epochs)
        self.inside_tab.set_panel(InsidePanel(self.draw, run, epochs))
        self._form.config_changed.connect(self._show_network)
        self._show_network(self._form.config())

    def show_failure(self, message: str) -> None:
        """PyTorch could not be loaded: the tabs say why."""
        for tab in (self.model_tab, self.draw_tab, self.inside_tab):
            tab.show_message(message)

    def _take_trained(self, checkpoint: Checkpoint) -> None:
        """A run's model: listed for drawing if it reads digits (the canvas is for digits)."""
        with reported_errors():
            if checkpoint.is_digits:
                self.draw.add_trained_model(checkpoint)
            else:
                self._log.append_text("The Draw tab keeps its digit model; open this run's "
                                      "checkpoint (File > Open) to draw for it anyway.")

    def _show_network(self, config: TrainConfig) -> None:
        """Keep the Model tab on the chosen architecture, where the input is known already."""
        from engine.models.architectures import input_size_for

        spec = DATASET_INFO.get(config.dataset)
        if spec is None or spec.known_shape is None or config.problems().get("arch"):
            return
        channels, size, classes = spec.known_shape
        self.summary.show_for(config.arch, channels, classes,
                              input_size_for(config.arch, size, config.image_size))
