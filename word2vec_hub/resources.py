"""What the machine has room for: memory the system can give, and sizes written for people."""

from __future__ import annotations


def available_memory_bytes() -> int | None:
    """Memory the system can give without swapping (Linux's MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def readable_size(size: float) -> str:
    """A byte count as people read it: 512 bytes, 3.4 MiB, 1.2 GiB, 2,048.0 TiB."""
    if size < 1024:
        return f"{size:,.0f} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024:
            return f"{size:,.1f} {unit}"
    return f"{size / 1024:,.1f} TiB"
