"""GPU-minded training options that also run here: --compile, fused steps, AMP's dtype."""

from __future__ import annotations

import torch

from engine.config import TrainConfig
from engine.events import EpochEnd, LogLine
from engine.runtime import acceleration
from engine.training.optim import build_optimizer
from engine.training.trainer import Trainer


def settings(digits_dir) -> TrainConfig:
    return TrainConfig(arch="lenet5-relu", dataset="mnist", data_dir=str(digits_dir),
                       epochs=1, batch_size=20, device="cpu", seed=2, threads=1)


def test_a_compiled_model_trains_the_same_and_its_compile_time_is_said_apart(
        digits_dir, monkeypatch):
    compiled = []

    def compile_quickly(model):  # TorchDynamo without code generation: seconds, not minutes
        compiled.append(model)
        return torch.compile(model, backend="eager")

    monkeypatch.setattr(acceleration, "compile_model", compile_quickly)
    runs = {}
    for compile_model in (False, True):
        trainer, events = Trainer(settings(digits_dir), compile_model=compile_model), []
        end = trainer.run(events.append)
        assert end.reason == "finished", end.message
        runs[compile_model] = trainer, events
    (plain, plain_events), (fast, fast_events) = runs[False], runs[True]
    assert len(compiled) == 1
    said = [e.message for e in fast_events if isinstance(e, LogLine)
            and e.message.startswith("Compiled the model (torch.compile) in ")]
    assert len(said) == 1 and "the training speed leaves this out" in said[0]
    assert not any(isinstance(e, LogLine) and "Compiled" in e.message for e in plain_events)
    # The checkpoint holds the plain model's weights, and they are the same.
    plain_state, fast_state = plain.checkpoint().model_state, fast.checkpoint().model_state
    assert list(fast_state) == list(plain_state)
    for name, value in plain_state.items():
        torch.testing.assert_close(fast_state[name], value)
    losses = [[e.train_loss for e in events if isinstance(e, EpochEnd)]
              for events in (plain_events, fast_events)]
    assert losses[0] == losses[1]


def test_fused_steps_only_for_gpu_parameters_the_cpu_step_is_unchanged():
    model = torch.nn.Linear(3, 2)
    assert not acceleration.fused_step(list(model.parameters()))
    assert not acceleration.fused_step([])
    for optimizer in ("sgd", "adam", "adamw"):
        built = build_optimizer(model, TrainConfig(optimizer=optimizer))
        assert not built.defaults.get("fused")


def test_float16_needs_a_scaler_and_bfloat16_does_not():
    assert acceleration.needs_scaler(torch.float16)
    assert not acceleration.needs_scaler(torch.bfloat16)
    assert acceleration.amp_dtype(torch.device("cpu")) == torch.float16  # AMP is CUDA's only
