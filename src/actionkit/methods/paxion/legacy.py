"""Folders written before ``method.json``: ``patcher.json`` + ``patcher.safetensors`` (PAXION's
patcher) and ``fuser.json`` + ``fuser.safetensors`` (its Knowledge Fuser). They load as the
methods ``paxion`` and ``paxion_fuser``; they record no base fingerprint, and a fuser folder
does not record its patcher (give it: ``--patcher DIR``).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from actionkit.checkpoint import read_json
from actionkit.methods.paxion.fuser import FuserConfig
from actionkit.methods.paxion.method import PaxionConfig

LEGACY_FILES = ("patcher.json", "fuser.json")


def read_legacy(directory: Path) -> dict | None:
    """``method.json``-shaped metadata of an older folder (plus its file names), or None."""
    if (directory / "patcher.json").is_file():
        meta = read_json(directory / "patcher.json")
        patcher, train = meta.get("patcher", {}), meta.get("train", {})
        options = {f.name for f in fields(PaxionConfig)}
        config = {k: v for k, v in {**patcher, **train}.items() if k in options}
        config["vac"] = "separate"                   # how these folders were trained
        return {"method": "paxion", "config": config, "base": {"backbone": meta.get("backbone"), "weights": None},
                "weights_file": "patcher.safetensors", "config_file": "patcher.json"}
    if (directory / "fuser.json").is_file():
        meta = read_json(directory / "fuser.json")
        options = {f.name for f in fields(FuserConfig)}
        config = {k: v for k, v in meta.get("fuser", {}).items() if k in options}
        return {"method": "paxion_fuser", "config": config, "base": None,
                "weights_file": "fuser.safetensors", "config_file": "fuser.json"}
    return None
