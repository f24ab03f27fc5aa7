"""Fetch a file over HTTP(S) in chunks, reporting progress, checking its md5; extract the
members of an archive that a dataset needs.

torchvision's own download helper reports progress to a tqdm bar on the console; we need
DataProgress events for the GUI, so the transfer is done here, while the mirror lists and
checksums still come from torchvision's dataset classes.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from torchvision.datasets.utils import check_integrity

from engine.catalog import format_mib
from engine.data.types import DatasetError, ProgressFn
from engine.events import DataProgress

CHUNK_BYTES = 1 << 18
TIMEOUT_S = 30.0
USER_AGENT = "traindesk (pytorch/vision)"


class DownloadError(Exception):
    """No mirror delivered the file intact; the message says what each one did."""


def make_download_folder(folder: Path, title: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(
            f"{title} was not found, and the folder {folder} to download it into cannot be "
            f"created ({exc}). Choose a data folder you can write to."
        ) from exc


def download(
    urls: Sequence[str], dest: Path, md5: str | None, dataset: str, progress: ProgressFn
) -> None:
    """Save the first of urls that downloads completely (and matches md5) as dest.

    dest's folder must exist. The bytes go to a temporary file beside dest, renamed only
    once complete and verified, so an interrupted download never leaves a plausible-looking
    partial file.
    """
    failures = []
    for url in urls:
        try:
            _fetch(url, dest, md5, dataset, progress)
            return
        except (OSError, http.client.HTTPException, DownloadError) as exc:
            failures.append(f"{url}: {exc}")
    raise DownloadError("; ".join(failures))


def _fetch(url: str, dest: Path, md5: str | None, dataset: str, progress: ProgressFn) -> None:
    message = f"Downloading {dest.name}"
    fd, temp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(
            request, timeout=TIMEOUT_S
        ) as response:
            total = int(response.headers.get("Content-Length") or 0)
            if total:  # said before the first byte arrives: a person sees what is coming
                message = f"Downloading {dest.name} ({format_mib(total / 2**20)})"
            done = 0
            progress(DataProgress(dataset, message, done, total))
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                done += len(chunk)
                progress(DataProgress(dataset, message, done, total))
        if total and done != total:
            raise DownloadError(f"the connection closed after {done:,} of {total:,} bytes")
        if not check_integrity(temp, md5):
            raise DownloadError("the file arrived damaged (its md5 checksum does not match)")
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)


def extract_members(
    archive: Path, wanted: dict[str, Path], dataset: str, title: str, progress: ProgressFn
) -> None:
    """Extract some members of a .zip or .tar(.gz) archive: wanted maps each member's path
    inside the archive to the file it becomes.

    Only what is needed is written (STL-10's archive is mostly unlabelled images), each to
    a temporary file renamed once complete. Raises DatasetError if the archive is damaged
    or lacks a member.
    """
    progress(DataProgress(dataset, f"Extracting {archive.name}", 0, 0))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zipped:
                names = set(zipped.namelist())
                for member, dest in wanted.items():
                    if member in names:
                        with zipped.open(member) as source:
                            _write_atomically(source, dest)
                found = names & set(wanted)
        else:
            found = set()
            with tarfile.open(archive, "r:*") as tar:
                for info in tar:  # one pass, in order: the archive may be a stream of gzip
                    if info.name in wanted and info.isfile():
                        with tar.extractfile(info) as source:
                            _write_atomically(source, wanted[info.name])
                        found.add(info.name)
                        if len(found) == len(wanted):
                            break
    except (OSError, EOFError, zlib.error, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise DatasetError(
            f"The {title} archive {archive} cannot be read ({exc}): it is probably corrupt or "
            "incompletely downloaded. Delete it and download it again."
        ) from exc
    missing = [member for member in wanted if member not in found]
    if missing:
        raise DatasetError(
            f"The {title} archive {archive} does not contain {', '.join(missing)}: it is not "
            f"the {title} archive, or it is damaged. Delete it and download it again."
        )


def _write_atomically(source: BinaryIO, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, CHUNK_BYTES)
        os.replace(temp_name, dest)
    finally:
        Path(temp_name).unlink(missing_ok=True)
