"""What a person reads about each architecture and dataset, known without importing torch.

The settings form, the CLI's help and every message name networks and datasets by their
titles ("LeNet-5 (classic)", "MNIST sample (bundled)"), never by their ids; the ids stay the
keys the CLI accepts and configs store. This module imports nothing heavy, so help text,
usage errors and the settings form can be shown before PyTorch has loaded. The builders and
loaders (`engine.models.architectures.MODELS`, `engine.data.DATASETS`) take their titles from here.
"""

from __future__ import annotations

from dataclasses import dataclass

# The optimizers' names as a person reads them (the form, the Runs tab, messages).
OPTIMIZER_TITLES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}


@dataclass(frozen=True)
class ArchInfo:
    name: str  # registry key, what configs store and the CLI accepts
    title: str  # what a person reads
    description: str  # one line a learner understands
    input_size: int | None  # square input size the architecture expects; None = dataset's own
    # Starts from ImageNet weights (torchvision's model zoo, engine/models/pretrained.py): takes
    # 3-channel images normalised with ImageNet's mean/std; its head is replaced.
    pretrained: bool = False


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    description: str
    downloads: bool  # True if it can be fetched from the internet
    uses_image_size: bool = False  # only image folders are resized when loaded
    # (channels, image size, classes) where known before loading, for the model summary.
    known_shape: tuple[int, int, int] | None = None
    # What a first use downloads, in MiB as file managers show it ("MB"); None: nothing.
    download_mb: int | None = None
    # Handwriting made as MNIST was: white strokes on black, cropped and centred. An image
    # of writing is given the same treatment before such a model reads it.
    mnist_style: bool = False
    # Objects cut from a plain background, fitted into the frame and negated (Fashion-MNIST's
    # making): a photo of an object on white is treated the same way.
    objects_on_black: bool = False

    @property
    def download_size(self) -> str:
        """The download's size for a person, e.g. "161 MB", "2.5 GB"; "" if none."""
        return "" if self.download_mb is None else format_mib(self.download_mb)


ARCHITECTURES: dict[str, ArchInfo] = {
    info.name: info
    for info in (
        ArchInfo("softmax", "Softmax regression",
                 "One linear layer from pixels to class scores: the simplest classifier.", None),
        ArchInfo("mlp", "Multilayer perceptron",
                 "Two hidden layers (256 and 128 ReLU units, dropout 0.2) on the flattened "
                 "pixels.", None),
        ArchInfo("lenet5", "LeNet-5 (classic)",
                 "LeCun's 1998 digit reader: two 5x5 convolutions, sigmoid, average pooling; "
                 "32x32.", 32),
        ArchInfo("lenet5-relu", "LeNet-5 (ReLU, max pooling)",
                 "LeNet-5 with the modern ReLU and max pooling, which train much faster; "
                 "32x32.", 32),
        ArchInfo("cifar-cnn", "Small CNN",
                 "Three 3x3 convolutions (64, 64, 128), each followed by max pooling, then two "
                 "dense layers.", None),
        ArchInfo("alexnet", "AlexNet (small)",
                 "AlexNet's 5 convolutions, 3 max pools and dropout, narrowed for 32x32 "
                 "images.", 32),
        ArchInfo("vgg11", "VGG-11 (quarter width)",
                 "Eight 3x3 convolutions in five blocks with batch norm, a quarter of VGG's "
                 "widths; 32x32.", 32),
        ArchInfo("nin", "Network in Network",
                 "Convolutions followed by 1x1 convolutions, ending in one averaged map per "
                 "class; 32x32.", 32),
        ArchInfo("googlenet", "GoogLeNet (small)",
                 "Inception blocks that run 1x1, 3x3, 5x5 and pooling paths side by side; "
                 "32x32.", 32),
        ArchInfo("resnet18", "ResNet-18",
                 "torchvision's 18-layer residual network with a small-image first layer; "
                 "32x32.", 32),
        ArchInfo("resnet18-imagenet", "ResNet-18 (pretrained)",
                 "torchvision's ResNet-18 with its ImageNet weights and a new last layer for "
                 "your classes; 224x224 colour input, 11.7 million parameters.", 224,
                 pretrained=True),
        ArchInfo("mobilenet-v3-small-imagenet", "MobileNetV3-small (pretrained)",
                 "torchvision's MobileNetV3-small with its ImageNet weights and a new last "
                 "layer: small and fast (2.5 million parameters); 224x224 colour input.", 224,
                 pretrained=True),
        ArchInfo("efficientnet-b0-imagenet", "EfficientNet-B0 (pretrained)",
                 "torchvision's EfficientNet-B0 with its ImageNet weights and a new last "
                 "layer: the most accurate of the three (5.3 million parameters); 224x224 "
                 "colour input.", 224, pretrained=True),
    )
}

DATASET_INFO: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "mnist-sample", "MNIST sample (bundled)",
            "10,000 real handwritten MNIST digits shipped with the app (8,000 to train on, "
            "2,000 to test): works offline, trains in seconds.",
            downloads=False, known_shape=(1, 28, 10), mnist_style=True),
        DatasetInfo(
            "mnist", "MNIST",
            "70,000 handwritten digits, 28x28 greyscale (60,000 train / 10,000 test). Read "
            "from the data folder, or downloaded there (11 MB).",
            downloads=True, known_shape=(1, 28, 10), download_mb=11, mnist_style=True),
        DatasetInfo(
            "fashion-mnist", "Fashion-MNIST",
            "70,000 photos of clothing in 10 classes, 28x28 greyscale (60,000 train / 10,000 "
            "test). Read from the data folder or Debian's dataset-fashion-mnist package, or "
            "downloaded (30 MB).",
            downloads=True, known_shape=(1, 28, 10), download_mb=30, objects_on_black=True),
        DatasetInfo(
            "kmnist", "Kuzushiji-MNIST",
            "70,000 handwritten cursive Japanese characters (kuzushiji) in 10 classes, 28x28 "
            "greyscale (60,000 train / 10,000 test). Read from the data folder, or "
            "downloaded (20 MB).",
            downloads=True, known_shape=(1, 28, 10), download_mb=20, mnist_style=True),
        DatasetInfo(
            "emnist-digits", "EMNIST digits",
            "280,000 handwritten digits from NIST's forms, 28x28 greyscale (240,000 train / "
            "40,000 test): four times MNIST. Read from the data folder, or downloaded with "
            "the other EMNIST splits (536 MB).",
            downloads=True, known_shape=(1, 28, 10), download_mb=536, mnist_style=True),
        DatasetInfo(
            "emnist-letters", "EMNIST letters",
            "145,600 handwritten letters in 26 classes (capital and small letters together), "
            "28x28 greyscale (124,800 train / 20,800 test). Read from the data folder, or "
            "downloaded with the other EMNIST splits (536 MB).",
            downloads=True, known_shape=(1, 28, 26), download_mb=536, mnist_style=True),
        DatasetInfo(
            "svhn", "SVHN house numbers",
            "99,289 digits cropped from Street View photos of house numbers, 32x32 colour "
            "(73,257 train / 26,032 test). Read from the data folder, or downloaded "
            "(235 MB).",
            downloads=True, known_shape=(3, 32, 10), download_mb=235),
        DatasetInfo(
            "cifar10", "CIFAR-10",
            "60,000 colour photos in 10 classes (planes, cars, animals...), 32x32 "
            "(50,000 train / 10,000 test). Read from the data folder, or downloaded (163 MB).",
            downloads=True, known_shape=(3, 32, 10), download_mb=163),
        DatasetInfo(
            "cifar100", "CIFAR-100",
            "60,000 colour photos in 100 classes (apples to wolves), 32x32 (50,000 train / "
            "10,000 test): 500 training images per class. Read from the data folder, or "
            "downloaded (161 MB).",
            downloads=True, known_shape=(3, 32, 100), download_mb=161),
        DatasetInfo(
            "cifar100-coarse", "CIFAR-100 superclasses",
            "CIFAR-100's photos labelled with its 20 superclasses (fish, flowers, vehicles "
            "1...), 32x32 (50,000 train / 10,000 test). The same files as CIFAR-100 (161 MB "
            "download).",
            downloads=True, known_shape=(3, 32, 20), download_mb=161),
        DatasetInfo(
            "stl10", "STL-10",
            "13,000 labelled colour photos in 10 classes, 96x96 (5,000 train / 8,000 test): "
            "few images, large ones. Read from the data folder, or downloaded (2.5 GB, of "
            "which the 100,000 unlabelled images are not kept).",
            downloads=True, known_shape=(3, 96, 10), download_mb=2518),
        DatasetInfo(
            "folder", "Image folder",
            "Your own images: the image folder holds one sub-folder of images per class (or "
            "train/ and test/ folders that each do; otherwise 20% of each class is held out "
            "for testing). Images are resized to the network's input size.",
            downloads=False, uses_image_size=True),
    )
}


def is_pretrained(arch: str) -> bool:
    """Whether arch starts from ImageNet weights (an unknown id: no)."""
    info = ARCHITECTURES.get(arch)
    return info is not None and info.pretrained


def network_channels(arch: str, data_channels: int) -> int:
    """The channels arch is fed: pretrained networks take colour, so greyscale images are
    repeated into 3 channels for them; every other network takes the data's own."""
    return 3 if is_pretrained(arch) else data_channels


def image_size_to_load(arch: str, image_size: int) -> int:
    """The square size an image folder is loaded at: the config's image size when set, else
    the size the network expects (224 for the pretrained ones), else 32."""
    if image_size:
        return image_size
    info = ARCHITECTURES.get(arch)
    return info.input_size if info is not None and info.input_size else 32


def arch_title(name: str) -> str:
    """The architecture's display name; an unknown id (an old checkpoint's) as it is."""
    info = ARCHITECTURES.get(name)
    return info.title if info is not None else name


def dataset_title(name: str) -> str:
    """The dataset's display name; an unknown id as it is."""
    info = DATASET_INFO.get(name)
    return info.title if info is not None else name


def download_note(name: str) -> str:
    """"CIFAR-100 (161 MB download)": what a person reads before a download starts."""
    info = DATASET_INFO.get(name)
    if info is None or not info.download_size:
        return dataset_title(name)
    return f"{info.title} ({info.download_size} download)"


def format_mib(mib: float) -> str:
    """A size in MiB as file managers show it: "29 KB", "4.4 MB", "161 MB", "2.5 GB"."""
    if mib < 1:
        return f"{max(1, round(mib * 1024))} KB"
    if mib >= 1000:
        return f"{mib / 1024:.1f} GB"
    return f"{mib:.1f} MB" if mib < 10 else f"{mib:.0f} MB"
