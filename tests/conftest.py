"""Shared test set-up: Qt runs offscreen, and no Qt test may leak a thread or a timer."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


def _alive(qobject, check) -> bool:
    try:
        return check(qobject)
    except RuntimeError:  # the C++ object is already deleted: nothing is left running
        return False


_gui_thread_garbage_collector = []


def _collect_garbage_on_the_gui_thread_only() -> None:
    """As the app does (gui/app.py): a cycle collected on a worker thread can free Qt objects
    there and deadlock with the GUI thread. Started once, before any test's timers count."""
    if not _gui_thread_garbage_collector:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _gui_thread_garbage_collector.append(GarbageCollector(interval=1.0))


@pytest.fixture(autouse=True)
def _no_leaked_qt_threads_or_timers(request, monkeypatch):
    """Fail a Qt test that leaves a QThread running or a QTimer active (napari's habit).

    Every QThread/QTimer started during the test is recorded; after the test (and after
    qtbot has closed its widgets) none may still be running.
    """
    if "qtbot" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("qapp")
    _collect_garbage_on_the_gui_thread_only()
    from PySide6.QtCore import QThread, QTimer
    from PySide6.QtWidgets import QApplication

    started_threads, started_timers = [], []
    thread_start, timer_start = QThread.start, QTimer.start

    def record_thread(self, *args):
        started_threads.append(self)
        return thread_start(self, *args)

    def record_timer(self, *args):
        started_timers.append(self)
        return timer_start(self, *args)

    monkeypatch.setattr(QThread, "start", record_thread)
    monkeypatch.setattr(QTimer, "start", record_timer)
    yield
    app = QApplication.instance()
    if app is not None:
        app.processEvents()
    running = [t for t in started_threads if _alive(t, lambda t: t.isRunning())]
    active = [t for t in started_timers if _alive(t, lambda t: t.isActive())]
    assert not running, f"test leaked running QThreads: {running}"
    assert not active, f"test leaked active QTimers: {active}"


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch.hub cache of the test's own, and no network: a download of pretrained
    weights fails (tests put the weights file there themselves: tests/zoo_weights.py)."""
    import engine.models.pretrained as pretrained
    from engine.data.download import DownloadError

    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))

    def offline(urls, dest, md5, dataset, progress):
        raise DownloadError(f"{urls[0]}: <urlopen error [Errno -3] offline in tests>")

    monkeypatch.setattr(pretrained, "download", offline)
    return home
