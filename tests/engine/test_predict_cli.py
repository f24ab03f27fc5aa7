"""`main.py predict`: one CSV row per image of files and folders, read as the Draw tab reads
them, in batches; unreadable files said and never fatal; checkpoints, run folders and
exported models alike; exit codes as for `train`."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest

from engine.cli import predict as predict_cli
from engine.cli.predict import main
from engine.inference import image_trial, prediction_csv
from engine.inference.export import export_model
from engine.inference.image_files import find_images
from engine.inference.image_input import InputRecipe
from engine.inference.image_trial import try_image
from engine.inference.model_files import ModelFileError, open_model
from engine.inference.predict import Predictor
from engine.records.checkpoint import load_checkpoint, save_checkpoint
from engine.resources import RESOURCES_DIR
from tests.engine.test_cli import imported_modules, run_main_py, without_importtime
from tests.engine.test_export import CIFAR10, DIGITS_SHAPE, PHOTOS_SHAPE, checkpoint_for
from tools.sample_images import colour_pattern, photo_of_a_digit, write_image_kinds

BUNDLED = RESOURCES_DIR / "pretrained" / "digits-lenet5.pt"
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
HEADER = ["path", "class_1", "probability_1", "class_2", "probability_2", "class_3",
          "probability_3", "error", "note"]


@pytest.fixture(scope="module")
def folder_of_300(tmp_path_factory):
    """300 photos of digits (a third in sub-folders), a hidden file, a text file, and two
    files named as images that are none: one empty, one an image cut short."""
    root = tmp_path_factory.mktemp("photos")
    photos = [photo_of_a_digit(digit, (120, 90)) for digit in range(10)]
    for index in range(300):
        sub = root / ("" if index % 3 else f"batch-{index % 2}")
        sub.mkdir(exist_ok=True)
        photos[index % 10].save(sub / f"{index:03d}-digit-{index % 10}.png")
    (root / ".hidden.png").write_bytes(b"")
    (root / "notes.txt").write_text("not an image, and not named as one")
    (root / "empty.png").write_bytes(b"")
    whole = (root / "001-digit-1.png").read_bytes()
    (root / "batch-0" / "cut.jpg").write_bytes(whole[: len(whole) // 3])
    return root


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


@pytest.mark.parametrize("args", [("predict", "--help"), ("predict", "model.pt"),
                                  ("predict", "model.pt", "x.png", "--top-k", "0")])
def test_help_and_usage_errors_answer_without_importing_torch(args):
    result = run_main_py(*args, argv0="/usr/local/bin/traindesk")
    modules = imported_modules(result.stderr)
    assert "engine.cli.predict" in modules or "engine.version" in modules
    assert "torch" not in modules and not any(m.startswith("torch.") for m in modules)
    if "--help" in args:
        assert result.returncode == 0
        assert result.stdout.startswith("usage: traindesk predict")
        for words in ("--out", "--top-k", "--device", "--batch-size", "exit codes", "130"):
            assert words in result.stdout
    else:
        assert result.returncode == 2 and result.stdout == ""
        assert "traindesk predict: error:" in without_importtime(result.stderr)


def test_main_help_names_the_predict_command():
    assert "predict --help" in run_main_py("--help").stdout


def test_the_torch_free_defaults_are_the_engines():
    assert predict_cli.DEFAULT_TOP_K == prediction_csv.DEFAULT_TOP_K
    assert predict_cli.DEFAULT_BATCH_SIZE == image_trial.BATCH_SIZE


def test_a_folder_of_300_gives_300_rows_and_the_bad_files_said(folder_of_300, tmp_path,
                                                               capsys):
    out = tmp_path / "predictions.csv"
    code = main([str(BUNDLED), str(folder_of_300), "--out", str(out), "--batch-size", "64"])
    stdout, stderr = capsys.readouterr()
    assert code == 1  # some images could not be read; the others are all there
    assert stdout == f"{out}\n"
    rows = read_csv(out)
    assert rows[0] == HEADER
    by_path = {row[0]: row for row in rows[1:]}
    assert len(rows) - 1 == len(by_path) == 302  # the 300 photos, the two broken files
    good = [row for row in rows[1:] if not row[7]]
    assert len(good) == 300
    # Each photo's answer is its digit (the bundled demo model reads them all).
    assert all(row[1] == row[0].rsplit("-", 1)[1][0] for row in good)
    for row in good:
        probabilities = [float(p) for p in row[2:7:2]]
        assert probabilities == sorted(probabilities, reverse=True)
        assert len({row[1], row[3], row[5]}) == 3
    for name in ("empty.png", "cut.jpg"):
        [row] = [row for row in rows[1:] if row[0].endswith(name)]
        assert row[1:7] == [""] * 6 and name in row[7]
        assert name in stderr.split("could not be read:")[1]
    assert "2 images could not be read" in stderr and "300 of 302 images predicted" in stderr
    assert not any(".hidden" in path or "notes.txt" in path for path in by_path)


def test_batched_answers_are_the_draw_tabs_one_by_one(folder_of_300, tmp_path):
    out = tmp_path / "p.csv"
    main([str(BUNDLED), str(folder_of_300 / "batch-1"), "--out", str(out), "--top-k", "10",
          "--batch-size", "7"])
    ckpt = load_checkpoint(BUNDLED)
    predictor, recipe = Predictor.from_checkpoint(ckpt), InputRecipe.from_checkpoint(ckpt)
    rows = read_csv(out)[1:]
    assert len(rows) == 50
    for row in rows[:12]:
        alone = try_image(predictor, recipe, row[0])
        got = {row[i]: float(row[i + 1]) for i in range(1, 21, 2)}
        want = {name: float(p) for name, p in zip(ckpt.class_names, alone.probabilities,
                                                  strict=True)}
        assert got.keys() == want.keys()
        for name in got:
            assert got[name] == pytest.approx(want[name], abs=2e-6)


def test_files_named_directly_and_stdout_and_top_k(tmp_path, capsys):
    kinds = write_image_kinds(tmp_path / "kinds")
    ckpt = checkpoint_for("cifar-cnn", *PHOTOS_SHAPE)
    model = save_checkpoint(tmp_path / "run" / "checkpoint.pt", ckpt)
    assert main([str(model), *map(str, kinds.values()), "--top-k", "1"]) == 0
    stdout, stderr = capsys.readouterr()
    rows = list(csv.reader(stdout.splitlines()))
    assert rows[0] == ["path", "class_1", "probability_1", "error", "note"]
    assert [row[0] for row in rows[1:]] == [str(path) for path in kinds.values()]
    assert all(row[1] in CIFAR10 for row in rows[1:])
    assert "7 of 7 images predicted" in stderr


def test_a_run_folder_means_its_best_checkpoint(tmp_path):
    run = tmp_path / "run"
    save_checkpoint(run / "checkpoint.pt", checkpoint_for("cifar-cnn", *PHOTOS_SHAPE, seed=1))
    assert open_model(run).path == run / "checkpoint.pt"
    save_checkpoint(run / "best.pt", checkpoint_for("cifar-cnn", *PHOTOS_SHAPE, seed=2))
    opened = open_model(run)
    assert opened.path == run / "best.pt" and "best.pt (epoch 1)" in opened.description
    with pytest.raises(ModelFileError, match="holds no best.pt or checkpoint.pt"):
        open_model(tmp_path)


@pytest.mark.parametrize(("arch", "shape", "fmt"), [
    ("cifar-cnn", PHOTOS_SHAPE, "torchscript"), ("lenet5", DIGITS_SHAPE, "torchscript"),
    ("lenet5", DIGITS_SHAPE, "onnx")])  # ONNX exports are slow: one
def test_an_exported_model_agrees_with_its_checkpoint(tmp_path, fmt, arch, shape):
    ckpt = checkpoint_for(arch, *shape)
    model = save_checkpoint(tmp_path / "run" / "checkpoint.pt", ckpt)
    exported = export_model(ckpt, tmp_path / f"m.{fmt}", fmt).path
    images = tmp_path / "images"
    images.mkdir()
    for digit in range(10):
        photo_of_a_digit(digit, (90, 70)).save(images / f"digit-{digit}.jpg")
    write_image_kinds(images / "kinds")
    from PIL import Image

    Image.fromarray(colour_pattern((300, 200))).save(images / "large.png")
    tables = []
    for source in (model, exported):
        out = tmp_path / f"{source.name}.csv"
        assert main([str(source), str(images), "--out", str(out), "--top-k", "10"]) == 0
        tables.append(read_csv(out))
    from_checkpoint, from_export = tables
    assert [row[0] for row in from_checkpoint] == [row[0] for row in from_export]
    assert len(from_checkpoint) == 1 + 18
    for want, got in zip(from_checkpoint[1:], from_export[1:], strict=True):
        want_p = {want[i]: float(want[i + 1]) for i in range(1, 21, 2)}
        got_p = {got[i]: float(got[i + 1]) for i in range(1, 21, 2)}
        assert got_p.keys() == want_p.keys()
        assert max(abs(got_p[k] - want_p[k]) for k in want_p) < 1e-4
        top2 = sorted(want_p.values())[-2:]
        if top2[1] - top2[0] > 1e-3:  # not a near tie: the same answer
            assert got[1] == want[1]
        assert got[-2:] == want[-2:]  # no error, and the same note (a digit's doubts)


def test_an_exported_model_without_its_description_is_refused(tmp_path, capsys):
    ckpt = checkpoint_for("cifar-cnn", *PHOTOS_SHAPE)
    exported = export_model(ckpt, tmp_path / "m.pt", "torchscript")
    os.remove(exported.sidecar)
    image = tmp_path / "a.png"
    photo_of_a_digit(3).save(image)
    assert main([str(exported.path), str(image)], prog="traindesk predict") == 2
    stdout, stderr = capsys.readouterr()
    assert stdout == "" and "m.pt.json" in stderr and stderr.startswith(
        "traindesk predict: error:")


def test_usage_errors_exit_2_and_write_nothing(tmp_path, capsys):
    image = tmp_path / "a.png"
    photo_of_a_digit(3).save(image)
    empty = tmp_path / "empty"
    empty.mkdir()
    model = save_checkpoint(tmp_path / "run" / "checkpoint.pt", load_checkpoint(BUNDLED))
    cases = [
        ([str(tmp_path / "missing.pt"), str(image)], "does not exist"),
        ([str(model), str(empty)], "no image files in"),
        ([str(model), str(image), "--out", str(model)], "run folder's own file"),
        ([str(model), str(image), "--out", str(image)], "one of the images"),
        ([str(model), str(image), "--batch-size", "0"], "--batch-size"),
        ([str(model), str(image), "--device", "tpu"], "unknown device 'tpu'"),
        ([str(model), str(image), "--device", "cuda:7"], "not available on this computer"),
    ]
    for argv, words in cases:
        with pytest.raises(SystemExit) as stop:
            code = main(argv, prog="traindesk predict")
            raise SystemExit(code)
        assert stop.value.code == 2
        stdout, stderr = capsys.readouterr()
        assert stdout == "" and words in stderr and "traindesk predict: error:" in stderr
    assert load_checkpoint(model).epoch == load_checkpoint(BUNDLED).epoch  # not replaced


def test_ctrl_c_keeps_the_rows_so_far_and_exits_130(folder_of_300, tmp_path, capsys,
                                                   monkeypatch):
    batches = []
    real = image_trial.try_images

    def interrupted_at_the_third(*args, **kwargs):
        if len(batches) == 2:
            raise KeyboardInterrupt
        batches.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(image_trial, "try_images", interrupted_at_the_third)
    out = tmp_path / "p.csv"
    assert main([str(BUNDLED), str(folder_of_300), "--out", str(out),
                 "--batch-size", "10"]) == 130
    _, stderr = capsys.readouterr()
    assert "Stopped after 20 of 302 images" in stderr
    assert len(read_csv(out)) == 1 + 20


def test_folders_are_searched_recursively_in_order_and_files_kept_as_given(tmp_path):
    (tmp_path / "b" / ".hidden").mkdir(parents=True)
    (tmp_path / "a").mkdir()
    for name in ("b/2.PNG", "b/.x.png", "b/.hidden/3.png", "a/1.jpg", "0.webp", "z.txt"):
        (tmp_path / name).write_bytes(b"")
    os.mkfifo(tmp_path / "a" / "pipe.png")  # reading it would wait for ever
    (tmp_path / "a" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    found = find_images([tmp_path, tmp_path / "z.txt", tmp_path / "missing.png"])
    assert [image.name for image in found] == ["0.webp", "a/1.jpg", "b/2.PNG", "z.txt",
                                                "missing.png"]
    assert found[1].path == tmp_path / "a" / "1.jpg"


def test_a_model_that_cannot_take_the_images_fails_each_with_the_reason():
    class Broken:
        class_names = ("a", "b")
        device = "cpu"

        def predict_batch(self, inputs):
            raise RuntimeError("shapes do not match")

    recipe = InputRecipe(channels=1, stored_size=8, input_size=8, mean=(0.5,), std=(0.5,),
                         is_digits=False)
    pixels = np.full((8, 8), 200, dtype=np.uint8)
    results = image_trial.try_images(Broken(), recipe, [("one", pixels), ("two", pixels)])
    assert [type(r).__name__ for r in results] == ["ImageFailure", "ImageFailure"]
    assert "shapes do not match" in results[1].message and "two" in results[1].message
