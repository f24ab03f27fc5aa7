"""How fast does `traindesk predict` read a folder: images per second, batched vs one by one.

For each model, a folder of photos is written (tools/sample_images.py) and read through the
command's own path (engine.inference.image_trial.try_images, as `traindesk predict` and the
Draw tab's folders do), three ways:

- one by one: the model reads each image alone (batch 1), as the Draw tab did before;
- batched: the model reads --batch-size images at once;
- reading only: decoding and preparing the images, no model: the floor for both.

Models: the bundled LeNet-5 digit model on 300 photos of digits on paper (400x300 JPEGs),
and ResNet-18 (pretrained architecture, random weights saved under torchvision's file name
in a temporary TORCH_HOME: the same speed as ImageNet's, nothing downloaded) on 300 photos of
shapes of many sizes, 224x224 input.

    python bench/predict_speed.py [--images 300] [--batch-size 32] [--rows lenet5,resnet18]
                                  [--threads N] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
import torchvision  # noqa: E402

from engine.config import TrainConfig  # noqa: E402
from engine.inference.image_files import find_images  # noqa: E402
from engine.inference.image_input import InputRecipe, read_image, to_model_input  # noqa: E402
from engine.inference.image_trial import try_images  # noqa: E402
from engine.inference.predict import Predictor  # noqa: E402
from engine.models.architectures import build_model  # noqa: E402
from engine.models.pretrained import ZOO, weights_path  # noqa: E402
from engine.records.checkpoint import Checkpoint, load_checkpoint  # noqa: E402
from engine.resources import RESOURCES_DIR  # noqa: E402
from tools.sample_images import SHAPES, photo_of_a_digit, write_shape_photos  # noqa: E402

ROWS = ("lenet5", "resnet18")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def digit_photos(root: Path, count: int) -> Path:
    photos = [photo_of_a_digit(digit) for digit in range(10)]
    for index in range(count):
        photos[index % 10].save(root / f"{index:04d}-{index % 10}.jpg", quality=90)
    return root


def resnet18_checkpoint(torch_home: Path) -> Checkpoint:
    """ResNet-18 (pretrained architecture, 4 classes, 224x224) from random weights saved
    where torchvision keeps ImageNet's, so the real building path reads them."""
    arch = "resnet18-imagenet"
    os.environ["TORCH_HOME"] = str(torch_home)
    path = weights_path(arch)  # torchvision's file name, in $TORCH_HOME
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(torchvision.models.get_model(ZOO[arch].model, weights=None).state_dict(), path)
    model = build_model(arch, 3, len(SHAPES), 224)
    return Checkpoint(config=TrainConfig(arch=arch, dataset="folder", image_size=224),
                      model_state=model.state_dict(), optimizer_state=None,
                      scheduler_state=None, scaler_state=None, epoch=1, history=[],
                      class_names=SHAPES, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                      in_channels=3, input_size=224, is_digits=False)


def images_per_second(seconds: float, count: int) -> str:
    return f"{count / seconds:,.0f}"


def measure(title: str, ckpt: Checkpoint, folder: Path, batch_size: int,
            device: str) -> None:
    predictor = Predictor.from_checkpoint(ckpt, device=device)
    recipe = InputRecipe.from_checkpoint(ckpt)
    sources = [(image.name, image.path) for image in find_images([folder])]
    try_images(predictor, recipe, sources[:batch_size], batch_size, pictures=False)  # warm

    start = time.perf_counter()
    for name, path in sources:
        to_model_input(read_image(path, name), recipe, name, predictor.device)
    reading = time.perf_counter() - start
    start = time.perf_counter()
    alone = try_images(predictor, recipe, sources, 1, pictures=False)
    one_by_one = time.perf_counter() - start
    start = time.perf_counter()
    batched = try_images(predictor, recipe, sources, batch_size, pictures=False)
    together = time.perf_counter() - start
    same = sum(a.ranked(1) == b.ranked(1) for a, b in zip(alone, batched, strict=True))
    print(f"| {title} | {len(sources)} | {images_per_second(one_by_one, len(sources))} | "
          f"{images_per_second(together, len(sources))} | {one_by_one / together:.1f}x | "
          f"{images_per_second(reading, len(sources))} | {same}/{len(sources)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: its own)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch threads: {torch.get_num_threads()}, device: {args.device}, batch "
          f"{args.batch_size}\n")
    print("| model | images | one by one (images/s) | batched (images/s) | speed-up | "
          "reading only (images/s) | same answer |")
    print("|---|---|---|---|---|---|---|")
    rows = args.rows.split(",")
    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        if "lenet5" in rows:
            (temp / "digits").mkdir()
            folder = digit_photos(temp / "digits", args.images)
            measure("LeNet-5 (bundled), digit photos 400x300 JPEG, 32x32 input",
                    load_checkpoint(RESOURCES_DIR / "pretrained" / "digits-lenet5.pt"),
                    folder, args.batch_size, args.device)
        if "resnet18" in rows:
            folder = write_shape_photos(temp / "shapes",
                                        per_class=max(1, args.images // len(SHAPES)))
            measure("ResNet-18 (random weights), shape photos 120-420 px, 224x224 input",
                    resnet18_checkpoint(temp / "torch-home"), folder, args.batch_size,
                    args.device)


if __name__ == "__main__":
    main()
