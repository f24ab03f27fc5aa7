"""Background jobs: quitting the application stops and waits for the running ones."""

import subprocess
import sys
import threading
import time
from pathlib import Path

from gui.background import LatestJob, finish_jobs
from tests.gui.test_startup import offscreen_env

REPO = Path(__file__).resolve().parents[2]


def test_finish_jobs_cancels_the_running_job_and_waits_for_it(qtbot):
    cancelled, ended = threading.Event(), threading.Event()

    def long_job() -> str:
        cancelled.wait(30)
        time.sleep(0.2)  # still working a while after being asked
        ended.set()
        return "stopped"

    job = LatestJob(cancel=cancelled.set)
    job.submit("tag", long_job)
    job.submit("later", lambda: "never run")  # waiting: dropped at quit
    finish_jobs(timeout=10)
    assert cancelled.is_set() and ended.is_set()
    with qtbot.waitSignal(job.done, timeout=2000) as done:
        pass
    assert done.args == ["tag", "stopped"]
    assert not job.busy()


# A job inside PyTorch when the application quits: the process must end normally, the job
# asked to stop and waited for (a thread still in PyTorch at interpreter shutdown aborts).
QUIT_DURING_JOB = """
import sys, threading
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from gui.background import LatestJob
app = QApplication([])
stop, started = threading.Event(), threading.Event()

def busy():
    import torch
    x = torch.randn(256, 256)
    started.set()
    while not stop.is_set():
        x = (x @ x).tanh()
    print("job stopped", flush=True)

job = LatestJob(cancel=stop.set)
job.submit(None, busy)
started.wait(60)
QTimer.singleShot(0, app.quit)
app.exec()
print("quit", flush=True)
"""


def test_quitting_while_a_job_runs_in_pytorch_ends_the_process_cleanly(tmp_path):
    result = subprocess.run([sys.executable, "-c", QUIT_DURING_JOB], cwd=REPO,
                            env=offscreen_env(tmp_path), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["job", "stopped", "quit"]
