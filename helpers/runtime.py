"""Pick device, dtype and attention implementation from what the hardware can do.

The choice is a pure function of a :class:`DeviceCaps` so it can be tested for a T4, an A100,
an H100, Apple MPS and a CPU on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass

FLASH_ATTENTION = (
    "flash_attention_2"  # only chosen when flash-attn is installed and the GPU supports it
)
SDPA = "sdpa"


@dataclass(frozen=True)
class DeviceCaps:
    """What the machine offers, as :func:`choose_runtime` needs it.

    Attributes:
        cuda_available: A CUDA GPU is usable.
        cuda_name: GPU 0's name, if any.
        cuda_capability: GPU 0's compute capability ``(major, minor)``, if any (a T4 is (7, 5), an
            A100 (8, 0)).
        mps_available: Apple's MPS backend is usable.
        flash_attn_installed: The ``flash-attn`` package is installed.

    Example:
        >>> t4 = DeviceCaps(cuda_available=True, cuda_name="Tesla T4", cuda_capability=(7, 5))
        >>> choose_runtime(t4).dtype
        'float16'
    """

    cuda_available: bool = False
    cuda_name: str | None = None
    cuda_capability: tuple[int, int] | None = None
    mps_available: bool = False
    flash_attn_installed: bool = False


@dataclass(frozen=True)
class RuntimeChoice:
    """Device, dtype name and attention implementation, and why they were picked.

    Attributes:
        device: ``"cuda"``, ``"mps"``, ``"cpu"`` (or a device asked for, e.g. ``"cuda:1"``).
        dtype: A ``torch`` dtype name: ``"bfloat16"``, ``"float16"`` or ``"float32"``.
        attn_implementation: ``"flash_attention_2"`` or ``"sdpa"``.
        reason: The facts behind the choice, comma separated.

    Example:
        >>> RuntimeChoice("cpu", "float32", "sdpa", "no GPU found").device
        'cpu'
    """

    device: str
    dtype: str
    attn_implementation: str
    reason: str

    def describe(self) -> str:
        """One line for people: the choice and its reason.

        Example:
            >>> RuntimeChoice("cpu", "float32", "sdpa", "no GPU found").describe()
            'device=cpu, dtype=float32, attention=sdpa (no GPU found)'
        """
        return f"device={self.device}, dtype={self.dtype}, attention={self.attn_implementation} ({self.reason})"


def detect_caps() -> DeviceCaps:
    """Read what this machine offers (imports ``torch``).

    Returns:
        The machine's :class:`DeviceCaps`.

    Example:
        >>> caps = detect_caps()
        >>> caps.cuda_available == (caps.cuda_capability is not None)
        True
    """
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return DeviceCaps(
        cuda_available=cuda,
        cuda_name=torch.cuda.get_device_name(0) if cuda else None,
        cuda_capability=tuple(torch.cuda.get_device_capability(0)) if cuda else None,
        mps_available=mps,
        flash_attn_installed=_flash_attn_usable(),
    )


def _flash_attn_usable() -> bool:
    """transformers' own check (flash-attn importable, its version supported, CUDA present);
    ``False`` when transformers itself cannot be imported (``helpers.doctor`` says why)."""
    try:
        from transformers.utils import is_flash_attn_2_available
    except Exception:  # a broken transformers install: no flash-attn through it either
        return False
    return bool(is_flash_attn_2_available())


def device_problem(caps: DeviceCaps, device: str) -> str | None:
    """Why a requested device cannot be used on this machine, with the fix.

    Args:
        caps: The machine (:func:`detect_caps`).
        device: The device asked for, e.g. ``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"cpu"``.

    Returns:
        The problem and its fix, or ``None`` when the device can be used.

    Example:
        >>> device_problem(DeviceCaps(), "cpu") is None
        True
        >>> device_problem(DeviceCaps(), "cuda")[:60]
        "device='cuda' was requested but this machine has no usable C"
    """
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda", "mps") or (index and not index.isdigit()):
        return f"device={device!r} is not a device name: use 'cuda', 'cuda:0', 'mps' or 'cpu', or leave it unset."
    if kind == "cuda" and not caps.cuda_available:
        return (
            f"device={device!r} was requested but this machine has no usable CUDA GPU "
            "(torch.cuda.is_available() is False): leave device unset to use what is there, or "
            "pass device='cpu' (or 'mps' on Apple silicon)."
        )
    if kind == "mps" and not caps.mps_available:
        return (
            f"device={device!r} was requested but Apple MPS is not available here: leave device "
            "unset, or pass device='cpu'."
        )
    return None


def choose_runtime(
    caps: DeviceCaps,
    *,
    device: str | None = None,
    dtype: str | None = None,
    attn_implementation: str | None = None,
) -> RuntimeChoice:
    """Choose the device, dtype and attention implementation for ``caps``; explicit arguments win.

    - device: CUDA, else MPS, else CPU.
    - dtype: bfloat16 on GPUs with bf16 (compute capability >= 8.0) and on MPS, float16 on older CUDA
      GPUs (e.g. a T4, 7.5), float32 on CPU.
    - attention: ``flash_attention_2`` only on CUDA with flash-attn installed and capability >= 8.0
      (Ampere or newer); otherwise ``sdpa``.

    Args:
        caps: What the machine offers (:func:`detect_caps`, or made up to plan for another machine).
        device: Use this device instead.
        dtype: Use this dtype name instead.
        attn_implementation: Use this attention implementation instead.

    Returns:
        The choice and its reason.

    Example:
        >>> a100 = DeviceCaps(True, "A100", (8, 0), flash_attn_installed=True)
        >>> choose_runtime(a100).describe()
        'device=cuda, dtype=bfloat16, attention=flash_attention_2 (CUDA GPU A100, bf16 supported, flash-attn installed)'
        >>> choose_runtime(DeviceCaps()).describe()
        'device=cpu, dtype=float32, attention=sdpa (no GPU found, fp32 on CPU)'
    """
    why: list[str] = []
    if device is None:
        if caps.cuda_available:
            device = "cuda"
            why.append(f"CUDA GPU {caps.cuda_name or ''}".strip())
        elif caps.mps_available:
            device = "mps"
            why.append("Apple MPS")
        else:
            device = "cpu"
            why.append("no GPU found")
    else:
        why.append(f"device {device} requested")
    kind = device.split(":")[0]
    ampere_plus = (
        kind == "cuda" and caps.cuda_capability is not None and caps.cuda_capability >= (8, 0)
    )

    if dtype is None:
        if kind == "cuda":
            dtype = "bfloat16" if ampere_plus else "float16"
            why.append("bf16 supported" if ampere_plus else "GPU has no bf16, using fp16")
        elif kind == "mps":
            dtype = "bfloat16"
        else:
            dtype = "float32"
            why.append("fp32 on CPU")

    if attn_implementation is None:
        if kind == "cuda" and ampere_plus and caps.flash_attn_installed:
            attn_implementation = FLASH_ATTENTION
            why.append("flash-attn installed")
        else:
            attn_implementation = SDPA
            if kind == "cuda" and not caps.flash_attn_installed:
                why.append("flash-attn not installed")
            elif kind == "cuda" and not ampere_plus:
                why.append("GPU older than Ampere, no flash-attn")
    return RuntimeChoice(device, dtype, attn_implementation, ", ".join(why))
