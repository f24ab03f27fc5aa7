"""TrainDesk installed as a wheel works like the source tree, from any working directory.

Builds the wheel from this checkout, checks what it holds, installs it into a fresh virtual
environment and trains one short epoch on the bundled sample from another folder through the
`traindesk` console script. The fresh environment sees the PyTorch and Qt of the interpreter
running the tests (a `.pth` file lists its site-packages folders, behind the environment's
own), so nothing is downloaded, whether the tests run inside a virtual environment or not.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLED = ("icon.svg", "pretrained/digits-lenet5.pt",
           *(f"mnist-sample/{name}-ubyte.gz" for name in (
               "train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "--wheel-dir", str(out), str(REPO)], check=True,
                   cwd=tmp_path_factory.mktemp("build-from"))
    (built,) = out.glob("traindesk-*.whl")
    return built


def the_running_interpreters_site_folders() -> list[str]:
    """Where this interpreter finds its packages (a virtual environment's, or the system's and
    the user's). `--system-site-packages` would give the base interpreter's instead, which
    inside a virtual environment has no PyTorch."""
    folders = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    return [folder for folder in folders if Path(folder).is_dir()]


def test_the_wheel_holds_the_code_and_every_bundled_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in BUNDLED:
        assert f"traindesk_resources/{name}" in names, name
    assert {"main.py", "engine/training/trainer.py", "engine/data/mnist.py",
            "gui/main_window.py"} <= names
    assert not any("__pycache__" in name or name.startswith("tests/") for name in names)


@pytest.mark.slow
def test_the_installed_console_script_trains_headless_from_another_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    own_site = subprocess.run([str(python), "-c", "import sysconfig; "
                               "print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    # Plain folder lines: their own .pth files (this checkout's editable install among them)
    # are not read, so the wheel's copy is the only TrainDesk the environment can import.
    (Path(own_site) / "running-interpreter.pth").write_text(
        "\n".join(the_running_interpreters_site_folders()) + "\n", encoding="utf-8")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index",
                    "--force-reinstall", "--no-deps", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(python), "-c", "import engine.resources as r; print(r.__file__); "
                            "print(r.RESOURCES_DIR)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # not this checkout's copy

    run_dir = tmp_path / "run"
    done = subprocess.run(
        [str(venv / "bin" / "traindesk"), "train", "--arch", "softmax", "--dataset",
         "mnist-sample", "--epochs", "1", "--batch-size", "256", "--device", "cpu",
         "--run-dir", str(run_dir)],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert (run_dir / "checkpoint.pt").is_file() and (run_dir / "metrics.jsonl").is_file()
