"""TrainDesk's windows and panels (Qt, PySide6 + pyqtgraph); the engine never imports this."""
