"""Turn slices of a uint8 dataset into network-ready batches, on the training device.

Everything works on whole batches of tensors: no per-sample PIL work, so a CPU or GPU stays
busy with the model rather than with image decoding (this is what makes the engine faster
than the tutorial's `DataLoader(transforms.Resize + ToTensor)` loop).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from engine.data.types import ImageDataset

if TYPE_CHECKING:
    from engine.models.pretrained import NetworkInput


class BatchPipeline:
    """Normalises, resizes and (optionally) augments uint8 image batches.

    The order is: crop/flip augmentation on the stored size, then resize to the network's
    input size, then normalise with the dataset's mean/std, or with what `network_input`
    says (a pretrained network: ImageNet's mean/std, greyscale repeated into 3 channels).
    Resizing per batch keeps the dataset small in memory: CIFAR-10 fed to a 224x224
    network stays 147 MB of 32x32 images instead of 7 GB.
    """

    def __init__(
        self,
        dataset: ImageDataset,
        input_size: int,
        device: torch.device,
        augment: bool = False,
        pad: int | None = None,
        network_input: NetworkInput | None = None,
    ) -> None:
        self.input_size = input_size
        self.augment = augment
        self.hflip = augment and dataset.hflip_ok
        # 4 px on 32x32 CIFAR (the classic recipe); proportionally less on 28x28 digits.
        self.pad = pad if pad is not None else max(1, round(dataset.image_size / 8))
        channels = network_input.channels if network_input else dataset.channels
        shape = (1, channels, 1, 1)
        mean, std = ((network_input.mean, network_input.std) if network_input
                     else (dataset.mean, dataset.std))
        self.channels = channels
        self.mean = torch.tensor(mean, device=device).view(shape)
        self.std = torch.tensor(std, device=device).view(shape)

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None,
                 train: bool = False) -> torch.Tensor:
        """uint8 (B, C, H, W) on the device -> float (B, C, S, S), normalised."""
        x = images.float().div_(255)
        if train and self.augment:
            x = random_crop(x, self.pad, generator)
            if self.hflip:
                x = random_hflip(x, generator)
        # Greyscale for a colour network: normalising (B, 1, S, S) by 3-channel mean/std
        # broadcasts it into 3 channels, after the resize (a third of the work).
        return resize_and_normalise(x, self.input_size, self.mean, self.std)


# A forward-only pass over images (the test pass, a head-only run's feature pass, the label
# doubts) takes at most as many pixels per batch as this many images of 32x32.
PASS_IMAGES = 1024


def pass_batch(input_size: int) -> int:
    """Images per batch of a forward-only pass at the network's input size: 1024 of 32x32,
    20 of 224x224."""
    return max(1, min(PASS_IMAGES, PASS_IMAGES * 32 * 32 // input_size**2))


def resize_and_normalise(x: torch.Tensor, input_size: int, mean: torch.Tensor,
                         std: torch.Tensor) -> torch.Tensor:
    """Float images on the 0..1 scale -> the network's input size, normalised.

    Shared by training batches and by prediction, so a drawing is prepared exactly like the
    images the model learned from.
    """
    if x.shape[-1] != input_size or x.shape[-2] != input_size:
        x = F.interpolate(x, size=(input_size, input_size), mode="bilinear",
                          align_corners=False, antialias=False)
    return (x - mean) / std


def _random_ints(high: int, count: int, like: torch.Tensor,
                 generator: torch.Generator | None) -> torch.Tensor:
    # Drawn on the generator's device (CPU for repeatability), then moved to the batch's.
    device = generator.device if generator is not None else like.device
    return torch.randint(0, high, (count,), generator=generator, device=device).to(like.device)


def random_crop(x: torch.Tensor, pad: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero-pad by `pad` and take a random crop of the original size, per sample."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = _random_ints(2 * pad + 1, b, x, generator)
    dx = _random_ints(2 * pad + 1, b, x, generator)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]  # (B,1,H,1)
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]  # (B,1,1,W)
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def random_hflip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror a random half of the batch left-right."""
    flip = _random_ints(2, x.shape[0], x, generator).bool()[:, None, None, None]
    return torch.where(flip, x.flip(-1), x)
