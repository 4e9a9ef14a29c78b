"""Weights and settings on disk: safetensors for tensors, JSON for everything else.

Nothing here unpickles (pickle-based checkpoints are refused with a conversion hint).
Every file is written to a temp name and renamed, so a crash never leaves half a file.
Used by backbones, methods and the trainer alike; it imports nothing of theirs.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from actionkit.fileio import atomic_path, write_json_atomic


class ConfigMismatch(ValueError):
    """A checkpoint made with another configuration than the model it is loaded into."""


class PickleCheckpoint(ValueError):
    """A pickle-based checkpoint (.pt, .pth, .bin, .ckpt): refused, since unpickling runs code."""


PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl")


def _convert_hint(path: Path | str, target: str) -> str:
    return (f"{path} is a pickle-based checkpoint, and actionkit never unpickles files (unpickling can run "
            f"code). Convert it once, where you trust it: python -c \"import torch, safetensors.torch as s; "
            f"s.save_file(torch.load('{path}', weights_only=True), '{target}')\"")


def refuse_pickles(directory: Path | str, wanted: str | tuple[str, ...]) -> None:
    """Raise ``PickleCheckpoint`` if ``directory`` holds none of the ``wanted`` safetensors
    files but does hold a pickle checkpoint (other pickles beside good weights are ignored)."""
    directory = Path(directory)
    names = (wanted,) if isinstance(wanted, str) else wanted
    if not directory.is_dir() or any((directory / n).is_file() for n in names):
        return
    pickles = sorted(p for p in directory.iterdir() if p.suffix in PICKLE_SUFFIXES and p.is_file())
    if pickles:
        raise PickleCheckpoint(_convert_hint(pickles[0], str(directory / names[0])))


def save_tensors(path: Path | str, tensors: dict[str, torch.Tensor]) -> None:
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))


def load_tensors(path: Path | str, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file; a pickle (or any other format) is refused, never unpickled."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    if path.suffix in PICKLE_SUFFIXES:
        raise PickleCheckpoint(_convert_hint(path, str(path.with_suffix(".safetensors"))))
    try:
        return load_file(str(path), device=str(device))
    except Exception as e:  # noqa: BLE001 - SafetensorError and friends: say what the file is not
        with path.open("rb") as f:
            head = f.read(4)
        if head[:2] == b"PK" or head[:1] == b"\x80":      # a torch zip or a raw pickle
            raise PickleCheckpoint(_convert_hint(path, str(path))) from None
        raise ValueError(f"{path}: not a readable safetensors file ({e})") from None


def check_config(saved: dict, expected: dict, where: Path | str) -> None:
    """Raise ``ConfigMismatch`` listing every key whose value differs (or is missing)."""
    keys = sorted(set(saved) | set(expected))
    diff = [f"{k}: checkpoint {saved.get(k, '<missing>')!r} vs model {expected.get(k, '<missing>')!r}"
            for k in keys if _norm(saved.get(k, "<missing>")) != _norm(expected.get(k, "<missing>"))]
    if diff:
        raise ConfigMismatch(f"{where}: checkpoint config does not match the model: " + "; ".join(diff))


def _norm(value):
    return list(value) if isinstance(value, tuple) else value


def read_json(path: Path | str) -> dict:
    """A JSON object from ``path``; a file that is not one is a ValueError naming the file."""
    path = Path(path)
    try:
        value = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(value).__name__}")
    return value


__all__ = [
    "ConfigMismatch", "PickleCheckpoint", "refuse_pickles", "save_tensors", "load_tensors", "check_config",
    "read_json", "write_json_atomic",
]
