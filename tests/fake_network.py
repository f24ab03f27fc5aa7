"""A stand-in for urllib.request.urlopen that serves files from memory: download tests run
the real download code and never touch the network."""

from __future__ import annotations

import hashlib
import io
import urllib.error


class FakeResponse(io.BytesIO):
    def __init__(self, body: bytes, length: int | None = None) -> None:
        super().__init__(body)
        self.headers = {"Content-Length": str(len(body) if length is None else length)}


class FakeNetwork:
    """Serves url -> bytes; every other url fails like an unreachable host."""

    def __init__(self, files: dict[str, bytes], claimed_lengths: dict[str, int] | None = None):
        self.files = files
        self.claimed_lengths = claimed_lengths or {}
        self.requested: list[str] = []

    def urlopen(self, request, timeout=None):
        url = request.full_url
        self.requested.append(url)
        assert timeout, "a download without a timeout can hang forever"
        if url not in self.files:
            raise urllib.error.URLError("Name or service not known")
        return FakeResponse(self.files[url], self.claimed_lengths.get(url))


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
