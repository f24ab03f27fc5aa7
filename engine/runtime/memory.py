"""How much memory this computer can still give, and byte counts as a person reads them.

Used before a large in-memory dataset is loaded (engine.data.folder), so a folder too big
for the memory is refused with a sentence instead of the computer swapping or the process
being killed.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.catalog import format_mib

MEMINFO = Path("/proc/meminfo")
CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")  # a container's limit (cgroup v2)
CGROUP_USED = Path("/sys/fs/cgroup/memory.current")


def available_bytes() -> int | None:
    """Memory available to new allocations without swapping, or None where unknown.

    Linux: MemAvailable (free memory plus caches the kernel can drop), within a
    container's limit. Elsewhere: the free pages POSIX reports, if it does.
    """
    found = []
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = CGROUP_LIMIT.read_text().strip()
        if limit.isdigit():
            found.append(max(0, int(limit) - int(CGROUP_USED.read_text().strip())))
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            return None
    return min(found)


def byte_text(count: float) -> str:
    """A byte count as the app says every size (engine.catalog.format_mib, as file managers
    show it): 1,505,280 -> "1.4 MB", 7.5e9 -> "7.0 GB"."""
    return format_mib(count / 2**20)
