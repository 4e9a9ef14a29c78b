"""Pure-torch frame transforms on ``[..., 3, H, W]`` tensors.

Every function accepts any number of leading dims (e.g. ``[T, 3, H, W]`` or
``[B, T, 3, H, W]``) and keeps them in the output.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def _check_frames(frames: torch.Tensor) -> None:
    if frames.dim() < 3 or frames.shape[-3] != 3:
        raise ValueError(f"expected frames shaped [..., 3, H, W], got {tuple(frames.shape)}")


def to_float(frames: torch.Tensor) -> torch.Tensor:
    """uint8 ``[..., 3, H, W]`` in [0, 255] -> float32 in [0, 1] (float input is cast only)."""
    _check_frames(frames)
    if frames.dtype == torch.uint8:
        return frames.to(torch.float32) / 255.0
    return frames.to(torch.float32)


def _interpolate(frames: torch.Tensor, out_hw: tuple[int, int]) -> torch.Tensor:
    """Bilinear antialiased resize of ``[..., 3, H, W]`` to ``out_hw``; keeps the dtype."""
    _check_frames(frames)
    lead = frames.shape[:-3]
    h, w = frames.shape[-2:]
    if (h, w) == out_hw:
        return frames
    flat = frames.reshape(-1, 3, h, w)
    work = flat if flat.is_floating_point() else flat.to(torch.float32)
    out = F.interpolate(work, size=out_hw, mode="bilinear", align_corners=False, antialias=True)
    if not flat.is_floating_point():
        info = torch.iinfo(flat.dtype)
        out = out.round_().clamp_(info.min, info.max).to(flat.dtype)
    return out.reshape(*lead, 3, *out_hw)


def resize_short_side(frames: torch.Tensor, size: int) -> torch.Tensor:
    """Resize so the shorter of H, W equals ``size`` px, keeping aspect ratio.

    Bilinear with antialias; ``[..., 3, H, W]`` -> ``[..., 3, H', W']``, same dtype
    (integer input is resized in float32 then rounded back).
    """
    if size <= 0:
        raise ValueError(f"size must be > 0, got {size}")
    _check_frames(frames)
    h, w = frames.shape[-2:]
    if h <= w:
        out_hw = (size, max(1, round(w * size / h)))
    else:
        out_hw = (max(1, round(h * size / w)), size)
    return _interpolate(frames, out_hw)


def resize(frames: torch.Tensor, size: int) -> torch.Tensor:
    """Square resize to ``size x size`` px (bilinear, antialias), ignoring aspect ratio."""
    if size <= 0:
        raise ValueError(f"size must be > 0, got {size}")
    return _interpolate(frames, (size, size))


def center_crop(frames: torch.Tensor, size: int) -> torch.Tensor:
    """Central ``size x size`` crop of ``[..., 3, H, W]``; ValueError if H or W < size."""
    _check_frames(frames)
    h, w = frames.shape[-2:]
    if size <= 0 or h < size or w < size:
        raise ValueError(
            f"cannot center-crop {size}x{size} from frames shaped {tuple(frames.shape)}"
        )
    top = (h - size) // 2
    left = (w - size) // 2
    return frames[..., top : top + size, left : left + size]


def normalize(
    frames: torch.Tensor,
    mean: Sequence[float],
    std: Sequence[float],
) -> torch.Tensor:
    """Per-channel ``(x - mean) / std`` on float ``[..., 3, H, W]``; returns the same dtype."""
    _check_frames(frames)
    if not frames.is_floating_point():
        raise ValueError(f"normalize expects float frames, got {frames.dtype}")
    if len(mean) != 3 or len(std) != 3:
        raise ValueError(f"mean and std need 3 values each, got {mean!r} and {std!r}")
    m = torch.tensor(mean, dtype=frames.dtype, device=frames.device).view(3, 1, 1)
    s = torch.tensor(std, dtype=frames.dtype, device=frames.device).view(3, 1, 1)
    return (frames - m) / s


def preprocess(
    frames: torch.Tensor,
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
) -> torch.Tensor:
    """Backbone input: uint8 ``[..., 3, H, W]`` -> float32 ``[..., 3, size, size]``.

    to_float -> resize_short_side(size) -> center_crop(size) -> normalize(mean, std).
    """
    x = to_float(frames)
    x = resize_short_side(x, size)
    x = center_crop(x, size)
    return normalize(x, mean, std)
