"""Preparing a run: the data, the model, the optimizer and schedule, on the device.

`load_data` and `build` make what the loop (engine/training/loop.py) trains with, a
`TrainingSetup`; `restore` puts a checkpoint's state into it when a run continues one;
`describe` says in the log what was built, and `run_start` is the event that opens a run.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from engine.catalog import arch_title, dataset_title, image_size_to_load, is_pretrained
from engine.config import TrainConfig
from engine.data import load_dataset
from engine.data.fingerprint import class_change, fingerprint, images_change, moved_classes
from engine.data.leave_out import leave_out, leave_out_sentence
from engine.data.pipeline import BatchPipeline
from engine.data.types import DatasetError, ImageDataset
from engine.events import Listener, LogLine, RunStart
from engine.models import pretrained
from engine.models.architectures import build_model, count_parameters, input_size_for
from engine.records.checkpoint import Checkpoint, CheckpointError, load_model_weights
from engine.runtime import acceleration
from engine.runtime.cpu import ThreadTuner, cpu_count
from engine.runtime.memory import byte_text
from engine.text import plural
from engine.training import feature_cache
from engine.training.distributed import World
from engine.training.feature_cache import FeaturePlan, KeptFeatures
from engine.training.optim import build_optimizer, build_scheduler


@dataclass(eq=False)
class TrainingSetup:
    """What a run trains with: the model (and the network the steps call: compiled or
    wrapped for torchrun, sharing the model's parameters), the optimizer, schedule and
    gradient scaler, and the dataset on the device, split and ready to batch."""

    device: torch.device
    dataset: ImageDataset
    fingerprint: dict  # engine.data.fingerprint of the dataset
    network_input: pretrained.NetworkInput  # channels, mean and std the network is fed
    input_size: int
    model: nn.Module
    net: nn.Module
    pipeline: BatchPipeline
    train_x: torch.Tensor | None
    train_y: torch.Tensor | None
    val_x: torch.Tensor | None
    val_y: torch.Tensor | None
    test_x: torch.Tensor | None
    test_y: torch.Tensor | None
    batches: int  # per epoch, at the batch size of the epoch
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    scaler: torch.amp.GradScaler | None
    loss_fn: nn.Module
    use_amp: bool
    amp_dtype: torch.dtype
    tuner: ThreadTuner | None
    # Head-only fine-tuning of a pretrained network (engine/training/feature_cache.py):
    # what `net` (the head and the dropouts in front of it) trains on, once computed by
    # `keep_features`; None where the whole network runs on every batch.
    feature_plan: FeaturePlan | None = None
    features: KeptFeatures | None = None

    def release_data(self) -> None:
        """Free the device copies of the dataset (GPU memory) once they are not needed."""
        self.train_x = self.train_y = self.val_x = self.val_y = None
        self.test_x = self.test_y = None
        self.features = None

    def training_batch(self, indices: torch.Tensor,
                       generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """What `net` is fed for the training images at `indices`, and their labels: the
        images augmented and ready for the network, or their kept features."""
        if self.features is not None:
            return self.features.training_batch(indices, generator), self.train_y[indices]
        return self.pipeline(self.train_x[indices], generator, train=True), self.train_y[indices]

    def evaluation_inputs(self, split: str) -> torch.Tensor:
        """What evaluating the "val" or "test" split reads: its kept features, or its
        images (uint8)."""
        if self.features is not None:
            return getattr(self.features, split)
        return self.val_x if split == "val" else self.test_x

    def evaluation_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """The model's answer (in eval mode) for a slice of `evaluation_inputs`: kept
        features (float) go through the head only, images through the whole network."""
        if inputs.is_floating_point():
            return self.feature_plan.tail(inputs)
        return self.model(self.pipeline(inputs))

    def autocast(self) -> AbstractContextManager:
        """The run's mixed-precision context (none in float32)."""
        return (torch.autocast("cuda", dtype=self.amp_dtype) if self.use_amp
                else nullcontext())

    def parts(self) -> dict[str, object]:
        """The parts whose state a checkpoint keeps, by name (those there are)."""
        parts = {"model": self.model, "optimizer": self.optimizer,
                 "scheduler": self.scheduler, "scaler": self.scaler}
        return {name: part for name, part in parts.items() if part is not None}


def load_data(config: TrainConfig, world: World, progress: Listener) -> ImageDataset:
    """The dataset, loaded (downloaded) by the first process on each machine first, without
    the images a child run leaves out (engine/data/leave_out.py)."""
    with world.main_first():
        data = load_dataset(config.dataset, config.source_folder(), progress=progress,
                            image_size=image_size_to_load(config.arch, config.image_size))
    if not (config.leave_out or config.leave_out_test):
        return data
    parent = Path(config.parent).name if config.parent else ""
    progress(LogLine(leave_out_sentence(len(set(config.leave_out)),
                                        len(set(config.leave_out_test)), parent)))
    return leave_out(data, config.leave_out, config.leave_out_test, parent)


def build(config: TrainConfig, data: ImageDataset, device: torch.device, world: World,
          compile_clock: acceleration.CompileClock | None, fresh: bool, progress: Listener,
          listener: Listener, keep_features: bool = True) -> TrainingSetup:
    """Everything a run trains with, on `device`. fresh: the run starts from scratch (a
    pretrained network then loads its ImageNet weights; a resumed one has its own).
    keep_features: a head-only run will train on kept features (`keep_features`, once its
    weights are final); False where nothing trains (a checkpoint's evaluation)."""
    torch.manual_seed(config.seed)  # same seed, same initial weights
    try:
        input_size = input_size_for(config.arch, data.image_size, config.image_size)
        network_input = pretrained.network_input(config.arch, data)
        model = build_model(config.arch, network_input.channels, data.num_classes, input_size)
    except ValueError as error:  # images or classes the network cannot take: no bug
        raise DatasetError(
            f"{dataset_title(config.dataset)} ({data.num_classes} classes of "
            f"{data.channels}x{data.image_size}x{data.image_size} images) cannot be trained "
            f"as {arch_title(config.arch)}: {error}"
        ) from error
    if is_pretrained(config.arch):
        weights = (pretrained.load_imagenet_weights(model, config.arch, progress)
                   if fresh else None)
        pretrained.set_fine_tuning(model, config.arch, config.fine_tune)
        listener(LogLine(pretrained.describe(config.arch, config.fine_tune, weights)))
    model = model.to(device)
    train_x, train_y, val_x, val_y = split(data, config, device)
    sizes = (len(train_y), len(val_y), len(data.test_labels))
    plan = (feature_cache.plan(config, model, sizes, input_size, device, listener)
            if keep_features else None)
    # What the steps call: the model itself (or on kept features only its head), or
    # compiled (--compile), or wrapped in DistributedDataParallel under torchrun (all share
    # the model's parameters).
    stepped = plan.tail if plan is not None else model
    net = world.wrap(acceleration.compile_model(stepped) if compile_clock is not None
                     else stepped)
    tuner = choose_threads(config, world, device)
    use_amp = config.amp and device.type == "cuda"
    amp_dtype = acceleration.amp_dtype(device)
    if config.amp and not use_amp:
        listener(LogLine("Mixed precision needs a CUDA GPU: training in float32.", "warning"))

    world.check_batch_size(config.batch_size)
    batches = world.batch_count(len(train_y), config.batch_size)
    if batches == 0:
        raise DatasetError(
            f"Only {plural(len(train_y), 'training image')} left after the validation "
            "split: at least 2 are needed. Lower the validation split or add images.")
    optimizer = build_optimizer(model, config)
    return TrainingSetup(
        device=device, dataset=data, fingerprint=fingerprint(data),
        network_input=network_input, input_size=input_size, model=model, net=net,
        pipeline=BatchPipeline(data, input_size, device, augment=config.augment,
                               network_input=network_input),
        train_x=train_x, train_y=train_y, val_x=val_x, val_y=val_y,
        test_x=data.test_images.to(device), test_y=data.test_labels.to(device),
        batches=batches, optimizer=optimizer,
        scheduler=build_scheduler(optimizer, config, batches),
        scaler=(torch.amp.GradScaler("cuda")
                if use_amp and acceleration.needs_scaler(amp_dtype) else None),
        loss_fn=nn.CrossEntropyLoss(label_smoothing=config.label_smoothing),
        use_amp=use_amp, amp_dtype=amp_dtype, tuner=tuner, feature_plan=plan)


def keep_features(setup: TrainingSetup, config: TrainConfig, world: World,
                  progress: Listener, listener: Listener) -> None:
    """Compute the features a head-only run trains on (its `feature_plan`), with the
    model's final weights (a resumed run's own): once, before the first epoch."""
    if setup.feature_plan is None:
        return
    pipeline = setup.pipeline
    setup.features = feature_cache.compute(
        setup.feature_plan, setup.model,
        lambda images, generator: pipeline(images, generator, train=generator is not None),
        {"train": setup.train_x, "val": setup.val_x, "test": setup.test_x}, config.seed,
        world, setup.autocast, progress, listener)


def choose_threads(config: TrainConfig, world: World,
                   device: torch.device) -> ThreadTuner | None:
    """Fix the thread count the person chose, or let a tuner follow the CPU's load.

    Set on the thread that trains: each thread keeps its own OpenMP pool (gui/worker.py).
    """
    if config.threads:
        torch.set_num_threads(config.threads)
        return None
    fixed = world.fixed_threads()  # under torchrun (engine.training.distributed says why)
    if fixed is not None:
        torch.set_num_threads(fixed)
        return None
    if device.type != "cpu":  # the CPU only feeds the accelerator
        torch.set_num_threads(cpu_count())
        return None
    return ThreadTuner(cpu_count(), torch.set_num_threads)


def split(data: ImageDataset, config: TrainConfig,
          device: torch.device) -> tuple[torch.Tensor, ...]:
    """Hold out a fixed, seeded validation fraction of the training set."""
    n = len(data.train_labels)
    n_val = int(round(n * config.val_split))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed))
    val, train = order[:n_val], order[n_val:]
    if n_val == 0:
        train = torch.arange(n)
    return (data.train_images[train].to(device), data.train_labels[train].to(device),
            data.train_images[val].to(device), data.train_labels[val].to(device))


def restore(setup: TrainingSetup, config: TrainConfig, resumed: Checkpoint,
            resume_from: str | Path, listener: Listener) -> int:
    """Continue `resumed`: its weights, and its optimizer's, schedule's and scaler's state
    where the settings still fit them. Returns the optimisation steps it had done."""
    if resumed.config.arch != config.arch or resumed.config.dataset != config.dataset:
        raise CheckpointError(
            f"This checkpoint was trained as {arch_title(resumed.config.arch)} on "
            f"{dataset_title(resumed.config.dataset)}, but the settings say "
            f"{arch_title(config.arch)} on {dataset_title(config.dataset)}. "
            "Resume with the checkpoint's architecture and dataset.")
    check_same_data(resumed, setup, resume_from, listener)
    load_model_weights(setup.model, resumed.model_state, resumed.config.arch)
    optimizer = setup.optimizer
    # The settings chosen now win over those stored with the optimizer state (lr,
    # momentum/betas, weight decay, Nesterov); only the running averages carry over.
    chosen = [{k: v for k, v in group.items() if k != "params"}
              for group in optimizer.param_groups]
    if resumed.optimizer_state is not None and resumed.config.optimizer == config.optimizer:
        optimizer.load_state_dict(resumed.optimizer_state)
    elif resumed.optimizer_state is not None:
        listener(LogLine(f"The optimizer changed from {resumed.config.optimizer} to "
                         f"{config.optimizer}: its state starts afresh.", "warning"))
    schedule_keys = ("schedule", "epochs", "batch_size", "lr")
    same_schedule = all(getattr(resumed.config, k) == getattr(config, k) for k in schedule_keys)
    if same_schedule and setup.scheduler is not None and resumed.scheduler_state:
        setup.scheduler.load_state_dict(resumed.scheduler_state)
    # A schedule that carried over owns the rates it sets (one-cycle also cycles momentum).
    owned = {"lr", "initial_lr", "max_lr", "min_lr", "momentum", "betas"}
    for group, values in zip(optimizer.param_groups, chosen, strict=True):
        group.update({k: v for k, v in values.items()
                      if not (same_schedule and setup.scheduler is not None and k in owned)})
    remaining = config.epochs - resumed.epoch
    if not same_schedule and config.schedule != "none" and remaining > 0:
        setup.scheduler = build_scheduler(optimizer, config.replace(epochs=remaining),
                                          setup.batches)
        listener(LogLine("The schedule, epoch count, batch size or learning rate changed: "
                         f"the LR schedule starts afresh over the remaining "
                         f"{plural(remaining, 'epoch')}.", "warning"))
    if setup.scaler is not None and resumed.scaler_state:
        setup.scaler.load_state_dict(resumed.scaler_state)
    listener(LogLine(f"Resumed after epoch {resumed.epoch} from {resume_from}."))
    if resumed.assumed:
        listener(LogLine(resumed.assumed, "warning"))
    # Older checkpoints do not count steps; their batch size never changed mid-run.
    history = resumed.history
    return (history[-1].get("steps") if history else 0) or resumed.epoch * setup.batches


def check_same_data(resumed: Checkpoint, setup: TrainingSetup, resume_from: str | Path,
                    listener: Listener) -> None:
    """Refuse a resume whose classes changed (its outputs would mean other classes);
    warn when only the images changed (engine.data.fingerprint)."""
    if resumed.assumed:
        return  # bare weights: their classes were assumed, and are said to be
    changed = class_change(resumed.class_names, setup.dataset.class_names)
    if changed is None and resumed.data_fingerprint is not None:
        changed = moved_classes(resumed.data_fingerprint, setup.fingerprint)
    if changed is not None:
        raise CheckpointError(
            f"Cannot continue {resume_from}: its classes changed since it was "
            f"saved: {changed}. The model's outputs stand for its own classes "
            f"({', '.join(resumed.class_names)}), so continuing would train it on the "
            "wrong labels. Put the class folders back as they were, or start a new run "
            "instead of continuing this one.")
    if resumed.data_fingerprint is None:
        listener(LogLine(f"{resume_from} was saved by an older TrainDesk that kept no "
                         "fingerprint of its images: whether they changed since cannot "
                         "be checked (its classes are the same).", "warning"))
        return
    changed = images_change(resumed.data_fingerprint, setup.fingerprint)
    if changed is not None:
        listener(LogLine(f"Since {resume_from} was saved, {changed}: training goes "
                         "on with the images as they are now, and the earlier epochs' "
                         "accuracies were measured on the images as they were.",
                         "warning"))


def describe(setup: TrainingSetup, config: TrainConfig, world: World,
             listener: Listener) -> None:
    """Say in the log what the run trains: the data, the network, how it is spread."""
    data, network_input, size = setup.dataset, setup.network_input, setup.input_size
    for note in data.notes:
        listener(LogLine(note, "warning"))
    listener(LogLine(
        f"{dataset_title(config.dataset)}: {len(setup.train_y):,} training, "
        f"{len(setup.val_y):,} validation, {plural(len(setup.test_y), 'test image')} of "
        f"{data.channels}x{data.image_size}x{data.image_size}, "
        f"{plural(data.num_classes, 'class', 'classes')}, "
        f"{byte_text(data.train_images.nbytes + data.test_images.nbytes)} in memory."))
    listener(LogLine(f"{arch_title(config.arch)}: "
                     f"{plural(count_parameters(setup.model), 'parameter')}, input "
                     f"{network_input.channels}x{size}x{size}, on "
                     f"{world.device_label(setup.device)}."))
    spread = world.description()  # nothing for a run in one process
    if spread:
        threads = (f", on {plural(torch.get_num_threads(), 'CPU thread')}"
                   if setup.device.type == "cpu" else "")
        listener(LogLine(f"Distributed over {spread}: each takes its share of every batch "
                         f"of {config.batch_size}{threads}."))
    if setup.use_amp:
        listener(LogLine(f"Mixed precision in {str(setup.amp_dtype).removeprefix('torch.')}"
                         + (" with loss scaling." if setup.scaler is not None else ".")))


def run_start(setup: TrainingSetup, config: TrainConfig, world: World, start_epoch: int,
              steps_done: int, history: list[dict], changes: list[dict],
              run_dir: Path | None) -> RunStart:
    """The event that opens a run: what it trains, and where it starts from."""
    data, network_input, size = setup.dataset, setup.network_input, setup.input_size
    return RunStart(
        arch=config.arch, dataset=config.dataset, device=world.device_label(setup.device),
        epochs=config.epochs, start_epoch=start_epoch, batches_per_epoch=setup.batches,
        train_size=len(setup.train_y), val_size=len(setup.val_y),
        test_size=len(setup.test_y), num_params=count_parameters(setup.model),
        class_names=data.class_names, input_shape=(network_input.channels, size, size),
        history=tuple(history), test_images=data.test_images.numpy(),
        test_labels=data.test_labels.numpy(), steps_done=steps_done, changes=tuple(changes),
        world_size=world.world_size, run_dir=str(run_dir) if run_dir is not None else None,
        test_index=data.test_index.numpy() if data.test_index is not None else None)
