"""Does an exported model answer what the app answers, for full-size images?

Writes a folder of full-size pictures of coloured shapes (tools/sample_images.py: 4 classes,
each image its own size and aspect ratio, JPEG and PNG), trains a network on it with
dataset=folder for a few epochs, exports it to TorchScript and ONNX, and compares top-1
answers on a second folder of such images:

- app: what Try image in the window answers (engine.inference.image_trial);
- fed whole: the file given each image whole (turned upright by its EXIF orientation), as
  float 0..1 (N, C, H, W);
- as the sidecar says: the image prepared by the sidecar's own recipe (`prepare` in its
  "python"), then given to the file.

    python bench/export_agreement.py [--train-per-class 60] [--images-per-class 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from engine.config import TrainConfig  # noqa: E402
from engine.inference.export import export_model  # noqa: E402
from engine.inference.image_input import InputRecipe, image_tensor  # noqa: E402
from engine.inference.predict import Predictor  # noqa: E402
from engine.records.checkpoint import load_checkpoint  # noqa: E402
from engine.training.trainer import Trainer  # noqa: E402
from tools.sample_images import write_shape_photos  # noqa: E402


def train(folder: Path, run_dir: Path, arch: str, epochs: int) -> Path:
    config = TrainConfig(arch=arch, dataset="folder", data_dir=str(folder), epochs=epochs,
                         batch_size=32, lr=3e-3, device="cpu", seed=0)
    end = Trainer(config, run_dir=run_dir).run(lambda event: None)
    if end.checkpoint_path is None:
        raise SystemExit(f"training failed: {end.message}")
    print(end.message)
    return Path(end.checkpoint_path)


def app_answers(checkpoint: Path, files: list[Path]) -> np.ndarray:
    ckpt = load_checkpoint(checkpoint)
    predictor, recipe = Predictor.from_checkpoint(ckpt), InputRecipe.from_checkpoint(ckpt)
    return np.array([int(np.argmax(predictor.predict_input(image_tensor(f, recipe))))
                     for f in files])


def runner(path: Path, fmt: str):
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return lambda x: session.run(None, {session.get_inputs()[0].name: x})[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(str(path))
    return lambda x: loaded(torch.from_numpy(x)).detach().numpy()


def whole(file: Path, channels: int) -> np.ndarray:
    """The image as it is, upright, 0..1 float (1, C, H, W): the old sidecar's 'any H and W'."""
    with Image.open(file) as image:
        upright = ImageOps.exif_transpose(image)
        pixels = np.asarray(upright.convert("L" if channels == 1 else "RGB"), dtype=np.float32)
    pixels = pixels.reshape(pixels.shape[0], pixels.shape[1], -1)
    return (pixels / 255).transpose(2, 0, 1)[None].copy()


def sidecar_prepare(sidecar: Path):
    """The sidecar's own recipe, run as it is written: prepare(path) -> (1, C, S, S)."""
    namespace: dict = {}
    exec(json.loads(sidecar.read_text())["prepare"]["python"], namespace)  # noqa: S102
    return namespace["prepare"]


def agreement(checkpoint: Path, files: list[Path], out: Path) -> dict[str, float]:
    app = app_answers(checkpoint, files)
    channels = load_checkpoint(checkpoint).in_channels
    found = {}
    for fmt in ("torchscript", "onnx"):
        result = export_model(load_checkpoint(checkpoint), out / f"model-{fmt}", fmt)
        run = runner(result.path, fmt)
        fed = np.array([int(np.argmax(run(whole(f, channels)))) for f in files])
        found[f"{fmt}, fed whole"] = float((fed == app).mean())
        try:
            prepare = sidecar_prepare(result.sidecar)
        except KeyError:
            continue  # a sidecar without a recipe
        prepared = np.array([int(np.argmax(run(prepare(str(f))))) for f in files])
        found[f"{fmt}, as the sidecar says"] = float((prepared == app).mean())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-per-class", type=int, default=60)
    parser.add_argument("--images-per-class", type=int, default=50)
    parser.add_argument("--arch", default="cifar-cnn")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        checkpoint = train(write_shape_photos(root / "train", args.train_per_class, seed=0),
                           root / "run", args.arch, args.epochs)
        photos = write_shape_photos(root / "try", args.images_per_class, seed=1)
        files = sorted(p for p in photos.rglob("*") if p.is_file())
        for what, share in agreement(checkpoint, files, root).items():
            print(f"{what}: top-1 agrees with the app on {share:.1%} of {len(files)} images")


if __name__ == "__main__":
    main()
