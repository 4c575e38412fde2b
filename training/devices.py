"""Where training runs: the device, and the engine that trains on it (numba's per-pair kernel on the CPU, the
fused Triton kernel on CUDA, batched torch tensors on any device)."""

from __future__ import annotations

import importlib.util
import os

import torch

from .arguments import BACKENDS


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` picks CUDA, then MPS, then the CPU; an explicit device that is not there is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but CUDA is not available here; use --device cpu or auto")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} was asked for but MPS is not available here; use --device cpu or auto")
    return device


def choose_backend(backend: str, device: torch.device) -> str:
    """`auto`: the compiled per-pair kernel on the CPU, the fused Triton kernel on CUDA where Triton is installed
    (else batched tensors), batched tensors on MPS and other devices."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        if device.type == "cpu":
            return "numba"
        return "triton" if device.type == "cuda" and triton_available() else "torch"
    if backend == "numba" and device.type != "cpu":
        raise ValueError(f"the numba engine runs on the CPU only, not on {device}; use --backend auto")
    if backend == "triton":
        if not triton_available():
            raise ValueError("the triton engine needs Triton (pip install 'word2vec-hub[gpu]'); use --backend auto")
        if device.type != "cuda" and not triton_interpreted():
            raise ValueError(
                f"the triton engine runs on CUDA (or on the CPU under TRITON_INTERPRET=1, for testing), not on "
                f"{device}; use --backend auto"
            )
    return backend


def cpu_workers(requested: int, processes_here: int = 1) -> int:
    """Threads or processes a CPU stage uses: `requested`, or with 0 this machine's cores shared among the
    training processes running on it."""
    return requested or max(1, (os.cpu_count() or 1) // processes_here)


def triton_available() -> bool:
    return importlib.util.find_spec("triton") is not None


def triton_interpreted() -> bool:
    """Whether Triton runs its kernels in its interpreter, on CPU tensors (TRITON_INTERPRET=1)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
