"""The same training under `torchrun`: DistributedDataParallel over N processes.

`torchrun --nproc_per_node N main.py train ...` starts N copies of the CLI with RANK,
WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set. Each process
joins one process group (nccl on CUDA, one GPU per process chosen by LOCAL_RANK; gloo on the
CPU) and trains a DistributedDataParallel copy of the model. The trainer asks this module:

- which share of each batch is this process's (`share`): every process draws the same
  seeded permutation and takes every N-th example of each batch, as DistributedSampler
  does, without a DataLoader. The configured batch size is the whole batch of all the
  processes together, and each share's loss is weighted by its size (`loss_weight`), so
  DDP's averaged gradient is exactly the whole batch's: a run over N processes takes the
  same steps as a run in one (up to the order floating-point sums are taken in);
- which slice of the test and validation images this process evaluates (`span`), and the
  sums of all processes' results (`sum`): reported loss and accuracy, and the per-image
  evaluation the Results tab shows, are those of the whole set;
- the per-batch numbers of all processes, summed where the one process's read-back would
  be (`combine`), which is also where the processes agree on a stop (Ctrl+C reaches every
  process, but not at the same batch: each stops at the same flush) and on how many
  batches go between flushes (rank 0 measures, all follow: no per-batch sync).

An ordinary run in one process is a world of one (`OneProcess`): the same interface with
nothing to share, so the loop reads the same with and without torchrun.

Only rank 0 prints, writes the run folder and saves checkpoints (the CLI gives the other
processes no run folder). The model's weights are never wrapped in what is saved: the
trainer keeps the plain model and trains through the DDP wrapper.

Augmentation and dropout draw different random numbers in each process (seeded by the run's
seed and the rank), as every DDP recipe does; BatchNorm normalises each process's share of a
batch on its own (running statistics are rank 0's). A model without those (softmax
regression, both LeNet-5s) trains to the same weights as in one process.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import os
import re
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol

import torch
import torch.distributed as dist
from torch import nn

from engine.config import ConfigError
from engine.control import Control
from engine.runtime.devices import available_devices, resolve_device
from engine.text import plural

# How long a collective waits for a process that does not come (a stuck process, a
# dataset being downloaded by a machine's first process while the others wait): then every
# process fails instead of hanging. A process that ends, fails or is killed is noticed at once.
TIMEOUT_ENV = "TRAINDESK_DIST_TIMEOUT"
DEFAULT_TIMEOUT_SECONDS = 1800
FLUSH_SECONDS = 0.1  # how often, at most, per-batch numbers are read back from the device
MAX_FLUSH_BATCHES = 1000
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class Tally(Protocol):
    """What `flush_due` reads of an epoch's tally (engine.training.loop.EpochTally)."""

    pending: int  # batches since the last flush
    last_flush: float  # time.perf_counter() at the last flush


class DistributedError(RuntimeError):
    """The processes of a torchrun run cannot train together; the message says why and
    what to do."""


def launched_by_torchrun(environ: dict[str, str] | None = None) -> bool:
    """True when this process was started by torchrun (or a launcher setting its variables)."""
    environ = os.environ if environ is None else environ
    return all(name in environ for name in TORCHRUN_VARIABLES)


class AgreedControl:
    """A `Control` whose stop every process sees at the same batch.

    The person's Ctrl+C (or torchrun's SIGTERM) reaches each process at a different batch;
    a process that stopped alone would leave the others waiting for its gradients. The stop
    asked for locally is shared at the next flush (`Processes.combine`) and from then on
    seen by all. Pausing and changing settings mid-run are the window's, not torchrun's.
    """

    def __init__(self, local: Control) -> None:
        self.local = local
        self.agreed_stop = False

    @property
    def stop_requested(self) -> bool:
        return self.agreed_stop

    @property
    def stopped_by(self) -> str:
        return self.local.stopped_by

    @property
    def paused(self) -> bool:
        return False

    def take_changes(self) -> dict:
        return {}

    def wait_while_paused(self) -> bool:
        return not self.agreed_stop

    def epoch_ended(self, epoch: int) -> None:
        self.local.epoch_ended(epoch)


@dataclass
class Processes:
    """This process's place among the processes training one model together."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    device: torch.device
    backend: str
    label: str  # what a person reads: "4 x NVIDIA H100", "2 x CPU"
    flush_every: int = 1  # batches between two flushes, agreed at each flush
    control: AgreedControl | None = field(default=None, repr=False)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def nodes(self) -> int:
        return max(1, self.world_size // max(1, self.local_world_size))

    def description(self) -> str:
        """How the run is spread, for the log: "2 processes (torchrun, gloo) on 1 machine"."""
        return (f"{plural(self.world_size, 'process', 'processes')} (torchrun, {self.backend}) "
                f"on {plural(self.nodes, 'machine')}")

    def run_device(self, choice: str) -> torch.device:
        """The device this process trains on: chosen when it joined (`start`)."""
        return self.device

    def device_label(self, device: torch.device | None) -> str:
        return self.label

    def fixed_threads(self) -> int:
        """The intra-op thread count of each process (`threads_per_process`: no tuner)."""
        return threads_per_process(self.local_world_size)

    # -- the model and the data --------------------------------------------------------

    def wrap(self, model: nn.Module) -> nn.Module:
        """model wrapped for training: gradients are averaged over the processes at each
        step. The wrapper shares model's parameters; checkpoints save model itself."""
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    def check_batch_size(self, batch_size: int) -> None:
        if batch_size < self.world_size:
            raise ConfigError("batch_size", (
                f"Batch size {batch_size} is smaller than the {self.world_size} processes of "
                "this torchrun run: the batch size is the whole batch of all processes "
                f"together, and each needs examples from it. Use --batch-size "
                f"{2 * self.world_size} or more."))

    def batch_count(self, n: int, batch_size: int) -> int:
        """Batches per epoch: a last, smaller batch is kept when each process gets at
        least two of its examples (one breaks BatchNorm, none leaves a process idle)."""
        return _batch_count(n, batch_size, self.world_size)

    def share(self, indices: torch.Tensor) -> torch.Tensor:
        """This process's share of a batch: every world_size-th example (DistributedSampler's
        split), so shares differ in size by at most one."""
        return indices[self.rank::self.world_size]

    def loss_weight(self, share: int, whole: int) -> float:
        """The factor on a share's mean loss that makes DDP's average of the processes'
        gradients the whole batch's mean gradient (1.0 when the shares are equal)."""
        return share * self.world_size / whole

    def own_seed(self, seed: int) -> int:
        """This process's seed for augmentation and dropout, derived from the run's."""
        return seed + 1_000_003 * self.rank

    def own_generator(self, seed: int, device: torch.device,
                      shuffling: torch.Generator) -> torch.Generator:
        """The generator this process's augmentation draws from in an epoch seeded `seed`;
        seeds the global generator (dropout) too. Each process draws its own numbers."""
        own = self.own_seed(seed)
        torch.manual_seed(own)
        return torch.Generator(device=device).manual_seed(own)

    def span(self, n: int) -> tuple[int, int]:
        """The contiguous slice [start, stop) of n evaluation images this process takes."""
        return n * self.rank // self.world_size, n * (self.rank + 1) // self.world_size

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """tensor summed over all processes, in place (every process gets the sum)."""
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def sync_buffers(self, model: nn.Module) -> None:
        """Rank 0's buffers (BatchNorm's running statistics) in every process, so every
        share of an evaluation is made by the same model, the one rank 0 saves."""
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """The first process on each machine (LOCAL_RANK 0) does the body first (a download
        into that machine's data folder), then the others; it releases them even when it
        fails, so they fail too rather than wait. (Downloads replace files atomically, so
        machines sharing one data folder do not corrupt it.)"""
        first = self.local_rank == 0
        if not first:
            dist.barrier()
        try:
            yield
        finally:
            if first:
                dist.barrier()

    # -- per-batch numbers and the stop ------------------------------------------------

    def agree(self, control: Control) -> AgreedControl:
        self.control = AgreedControl(control)
        return self.control

    def flush_due(self, tally: Tally) -> bool:
        """At the same batch in every process: after the count of batches agreed last."""
        return tally.pending >= self.flush_every

    def combine(self, losses: torch.Tensor, corrects: torch.Tensor, sizes: list[int],
                seconds_per_batch: float) -> tuple[list[float], list[int], list[int]]:
        """Each batch's loss, correct count and size over all processes, from this
        process's shares: one all-reduce and one read-back for all batches since the last
        flush. Carries the stop (any process's) and the next flush interval (rank 0's)."""
        k = len(sizes)
        n = torch.tensor(sizes, dtype=torch.float32, device=losses.device)
        stop = self.control is not None and self.control.local.stop_requested
        every = 0.0
        if self.is_main:
            every = float(min(MAX_FLUSH_BATCHES,
                              max(1, round(FLUSH_SECONDS / max(seconds_per_batch, 1e-9)))))
        extra = torch.tensor([float(stop), every], device=losses.device)
        totals = torch.cat([losses.float() * n, corrects.float(), n, extra])
        host = self.sum(totals).tolist()  # the one read-back
        whole = host[2 * k:3 * k]
        if self.control is not None and host[3 * k] > 0:
            self.control.agreed_stop = True
        self.flush_every = max(1, int(host[3 * k + 1]))
        return ([s / max(w, 1.0) for s, w in zip(host[:k], whole, strict=True)],
                [round(c) for c in host[k:2 * k]], [round(w) for w in whole])

    # -- ending ------------------------------------------------------------------------

    def lost_peer(self, error: BaseException) -> bool:
        """Whether error says another process of the run is gone (failed, stopped, killed)
        rather than a problem of this process's own."""
        if isinstance(error, dist.DistError):
            return True
        text = str(error)
        return isinstance(error, RuntimeError) and any(
            word in text for word in ("gloo", "Gloo", "NCCL", "Connection closed",
                                      "Connection reset", "Socket Timeout"))

    def lost_peer_message(self, error: BaseException) -> str:
        return (f"Another process of this torchrun run failed, was stopped or stopped "
                f"answering, so process {self.rank} of {self.world_size} stopped too; that "
                f"process's own message says why (here: {_gist(error)}).")

    def ended_together(self, reason: str) -> bool:
        """Whether every process ended the run at the same point, as a run that finished,
        diverged (all see the same losses) or stopped at an agreed batch does; a process
        that failed, or stopped on its own while loading, may have left the others."""
        if reason in ("finished", "learned_nothing", "diverged"):
            return True
        return reason == "stopped" and self.control is not None and self.control.agreed_stop

    def close(self, together: bool = False) -> None:
        """Leave the process group. `together` (every process ended at the same point):
        first wait for all at a barrier, so that no process tears its connections down
        while another is still in a collective, and free the DDP wrapper (which holds the
        group) before the group goes; a process exiting with gloo's threads still busy can
        abort ("terminate called without an active exception")."""
        if not dist.is_initialized():
            return
        if together:
            with contextlib.suppress(RuntimeError, dist.DistError):
                dist.barrier()
        gc.collect()
        dist.destroy_process_group()


class OneProcess:
    """An ordinary run in one process, as a world of one: `Processes`' interface with
    nothing to share (the whole batch is this process's share, sums are the values
    themselves, every process agrees with itself), so the loop reads the same with and
    without torchrun."""

    rank = local_rank = 0
    world_size = local_world_size = nodes = 1
    is_main = True

    def description(self) -> str:
        return ""  # nothing is spread: the log says nothing about it

    def run_device(self, choice: str) -> torch.device:
        return resolve_device(choice)

    def device_label(self, device: torch.device | None) -> str:
        """The device's name as a person knows it ("NVIDIA H100", "CPU")."""
        if device is None:
            return "the device"
        for info in available_devices():
            if torch.device(info.id) == device or (
                    device.type == "cuda" and info.id == f"cuda:{device.index or 0}"):
                return info.label
        return str(device)

    def fixed_threads(self) -> None:
        return None  # the trainer chooses, or tunes, the thread count itself

    def wrap(self, model: nn.Module) -> nn.Module:
        return model

    def check_batch_size(self, batch_size: int) -> None:
        pass  # any batch size has examples for one process

    def batch_count(self, n: int, batch_size: int) -> int:
        return _batch_count(n, batch_size, 1)

    def share(self, indices: torch.Tensor) -> torch.Tensor:
        return indices

    def loss_weight(self, share: int, whole: int) -> float:
        return 1.0

    def own_generator(self, seed: int, device: torch.device,
                      shuffling: torch.Generator) -> torch.Generator:
        """On the CPU augmentation draws on from the shuffling generator; on an
        accelerator from one of its own, so a GPU never waits for numbers from the host."""
        torch.manual_seed(seed)
        return (shuffling if device.type == "cpu"
                else torch.Generator(device=device).manual_seed(seed))

    def span(self, n: int) -> tuple[int, int]:
        return 0, n

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor

    def sync_buffers(self, model: nn.Module) -> None:
        pass

    def main_first(self) -> AbstractContextManager[None]:
        return nullcontext()

    def agree(self, control: Control) -> Control:
        return control

    def flush_due(self, tally: Tally) -> bool:
        """A few times a second (FLUSH_SECONDS): nobody else to keep pace with."""
        return time.perf_counter() - tally.last_flush >= FLUSH_SECONDS

    def combine(self, losses: torch.Tensor, corrects: torch.Tensor, sizes: list[int],
                seconds_per_batch: float) -> tuple[list[float], list[int], list[int]]:
        """The one read-back of the batches since the last flush."""
        return losses.float().tolist(), corrects.tolist(), sizes

    def lost_peer(self, error: BaseException) -> bool:
        return False

    def ended_together(self, reason: str) -> bool:
        return True

    def close(self, together: bool = False) -> None:
        pass


World = Processes | OneProcess  # this process's place among those training one model


def _batch_count(n: int, batch_size: int, world_size: int) -> int:
    """Batches per epoch of n examples; a last batch of one example per process breaks
    BatchNorm in training mode, so it is dropped."""
    full, rest = divmod(n, batch_size)
    return full + (1 if rest >= 2 * world_size else 0)


def _gist(error: BaseException) -> str:
    """The first sentence of a backend's error, without its source-file prefix."""
    text = re.sub(r"^\[[^\]]*\]\s*", "", str(error).strip())
    first = re.split(r"(?<=\.)\s|\n", text, maxsplit=1)[0].rstrip(".")
    return first[:160] or type(error).__name__


def timeout_seconds(environ: dict[str, str] | None = None) -> float:
    environ = os.environ if environ is None else environ
    value = environ.get(TIMEOUT_ENV, "")
    try:
        seconds = float(value) if value else DEFAULT_TIMEOUT_SECONDS
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise DistributedError(f"{TIMEOUT_ENV}={value!r} is not a number of seconds above "
                               f"0; unset it for the default ({DEFAULT_TIMEOUT_SECONDS} s).")
    return seconds


def _device_for(choice: str, local_rank: int) -> tuple[torch.device, str]:
    """The device and backend of this process: one GPU per process by LOCAL_RANK (nccl),
    or the CPU (gloo)."""
    wants_cuda = choice.startswith("cuda") or (choice == "auto" and torch.cuda.is_available())
    if choice == "mps":
        raise DistributedError("torchrun runs train on CUDA GPUs or on the CPU, not on "
                               "Apple's MPS: use --device cpu (or auto).")
    if not wants_cuda:
        return torch.device("cpu"), "gloo"
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise DistributedError(f"--device {choice} asks for a CUDA GPU, but this machine has "
                               "none that PyTorch can use: use --device cpu (gloo).")
    if local_rank >= count:
        raise DistributedError(
            f"This machine has {plural(count, 'CUDA GPU')} but torchrun started more processes "
            f"on it (LOCAL_RANK {local_rank}): use --nproc_per_node {count} or fewer; each "
            "process trains on its own GPU.")
    return torch.device("cuda", local_rank), "nccl"


def _label(device: torch.device, world_size: int, nodes: int) -> str:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    where = f" on {nodes} machines" if nodes > 1 else ""
    return f"{world_size} x {name}{where}"


def start(device_choice: str, environ: dict[str, str] | None = None) -> Processes:
    """Join the process group torchrun's variables describe (init_process_group, env://).

    Raises `DistributedError` with a sentence a person can act on.
    """
    environ = os.environ if environ is None else environ
    try:
        rank, world_size = int(environ["RANK"]), int(environ["WORLD_SIZE"])
        local_rank = int(environ["LOCAL_RANK"])
        local_world_size = int(environ.get("LOCAL_WORLD_SIZE", world_size))
    except (KeyError, ValueError) as error:
        raise DistributedError(f"The torchrun variables are missing or not numbers ({error}): "
                               "start the run with torchrun.") from error
    device, backend = _device_for(device_choice, local_rank)
    timeout = datetime.timedelta(seconds=timeout_seconds(environ))
    try:
        if device.type == "cuda":
            torch.cuda.set_device(device)
            dist.init_process_group(backend, timeout=timeout, device_id=device)
        else:
            dist.init_process_group(backend, timeout=timeout)
    except (RuntimeError, ValueError) as error:
        raise DistributedError(
            f"Process {rank} of {world_size} could not join the others "
            f"({backend}, {environ.get('MASTER_ADDR')}:{environ.get('MASTER_PORT')}): {error}. "
            "Check that every machine reaches the rendezvous address and port.") from error
    nodes = max(1, world_size // max(1, local_world_size))
    return Processes(rank=rank, world_size=world_size, local_rank=local_rank,
                     local_world_size=local_world_size, device=device, backend=backend,
                     label=_label(device, world_size, nodes))


def threads_per_process(local_world_size: int, environ: dict[str, str] | None = None) -> int:
    """Intra-op threads for each process: OMP_NUM_THREADS where set (per process, as OpenMP
    means it; torchrun sets 1 unless you do), else this machine's cores shared out.

    No ThreadTuner under torchrun: DDP steps at the pace of the slowest process, so one
    process trying another thread count slows them all, and each would measure the others'
    load and chase it.
    """
    environ = os.environ if environ is None else environ
    explicit = environ.get("OMP_NUM_THREADS", "")
    if explicit.isdigit() and int(explicit) > 0:
        return int(explicit)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, local_world_size))
