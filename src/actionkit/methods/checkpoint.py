"""The one checkpoint format of every method, and the one loader.

A method folder holds ``heads.safetensors`` (the trained heads) and ``method.json``::

    {"format": 1, "method": NAME, "config": {...}, "base": BASE, "base_fingerprint": "...",
     "train": {...trainer config...}, "summary": {...}, "heads_state": {...}}

``heads_state`` is what the heads keep that is not a tensor (``MethodHeads.json_state``, e.g.
CLAVER's prompt bank); older folders have none.

``BASE`` says what the heads were trained on: ``{"backbone": NAME, "weights": DIR or null}``
(a frozen backbone, ``backbones.load``) or ``{"model": DIR}`` (another method's folder, e.g.
the patcher under a Knowledge Fuser). ``load_model`` follows that chain down to the backbone,
refuses a base whose fingerprint differs from the one trained on (``allow_other_base`` to
override), and puts the heads on the base's device. Folders of the older PAXION format
(``patcher.json`` / ``fuser.json``) still load (``methods.paxion.legacy``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from actionkit.backbones.protocol import VideoTextModel
from actionkit.checkpoint import ConfigMismatch, load_tensors, read_json, refuse_pickles, save_tensors
from actionkit.fileio import write_json_atomic
from actionkit.methods.base import Method, MethodHeads, device_of
from actionkit.methods.config import config_from_dict
from actionkit.train.trainer import TrainerConfig

log = logging.getLogger(__name__)

HEADS_FILE = "heads.safetensors"
METHOD_FILE = "method.json"
FORMAT = 1


class BaseMismatch(ValueError):
    """Heads loaded onto a base model other than the one they were trained on."""


def is_method_folder(path: Path | str) -> bool:
    from actionkit.methods.paxion.legacy import LEGACY_FILES

    return any((Path(path) / name).is_file() for name in (METHOD_FILE, *LEGACY_FILES))


def save_method(directory: Path | str, method: Method, cfg: Any, heads: MethodHeads, base_ref: dict,
                base_fingerprint: str, train: TrainerConfig, summary: dict) -> None:
    """Write ``heads.safetensors``, then ``method.json`` (last: a folder counts once it has both)."""
    directory = Path(directory)
    save_tensors(directory / HEADS_FILE, heads.state_dict())
    base_ref = dict(base_ref)
    for key in ("weights", "model"):            # also relative to the folder: a moved run folder still loads
        if base_ref.get(key):
            base_ref[f"{key}_relative"] = os.path.relpath(Path(base_ref[key]).resolve(), directory.resolve())
    write_json_atomic(directory / METHOD_FILE, {
        "format": FORMAT, "method": method.name, "config": asdict(cfg), "base": base_ref,
        "base_fingerprint": base_fingerprint, "train": asdict(train), "summary": summary,
        "heads_state": heads.json_state()})


def base_reference(backbone: str | None = None, weights: Path | str | None = None,
                   model: Path | str | None = None) -> dict:
    """What ``method.json`` records as the base: a backbone (name + weights) or a method folder."""
    if model is not None:
        return {"model": str(Path(model).resolve())}
    return {"backbone": backbone, "weights": None if weights is None else str(Path(weights).resolve())}


def load_model(path: Path | str, device: str | torch.device = "cpu", *, backbone: VideoTextModel | None = None,
               base: VideoTextModel | None = None, allow_other_base: bool = False) -> VideoTextModel:
    """The model a method folder holds, on ``device``.

    Its base is loaded as ``method.json`` names it (recursively), except that ``backbone``,
    when given, stands in for the backbone at the bottom of the chain, and ``base``, when
    given, is used as this folder's base directly. Either way the base's fingerprint must be
    the one the heads were trained on, unless ``allow_other_base``.
    """
    from actionkit.methods import METHODS
    from actionkit.methods.paxion.legacy import read_legacy

    path = Path(path)
    if (path / METHOD_FILE).is_file():
        meta = read_json(path / METHOD_FILE)
        missing = [k for k in ("method", "config", "base") if k not in meta]
        if missing:
            raise ValueError(f"{path / METHOD_FILE}: missing key(s) {', '.join(missing)}")
        weights, where = path / HEADS_FILE, path / METHOD_FILE
    else:
        meta = read_legacy(path)       # None unless an older patcher.json / fuser.json folder
        if meta is None:
            raise FileNotFoundError(f"no method checkpoint in {path} (looked for {METHOD_FILE}); train one with "
                                    "`actionkit train METHOD ... --out DIR`")
        weights, where = path / meta["weights_file"], path / meta["config_file"]
    if meta["method"] not in METHODS:
        raise ValueError(f"{where}: unknown method {meta['method']!r}; methods: {', '.join(METHODS)}")
    method = METHODS[meta["method"]]
    cfg = config_from_dict(method.config, meta["config"], str(where))
    if base is None:
        base = _load_base(meta["base"], where, device, backbone, allow_other_base)
    _check_base(meta.get("base_fingerprint"), base, where, allow_other_base)
    refuse_pickles(path, weights.name)
    heads = method.build(base, cfg)
    heads.load_json_state(meta.get("heads_state", {}))
    _load_heads(heads, load_tensors(weights), weights)
    heads.requires_grad_(False)
    return method.model(base, heads.to(device_of(base)))


def _load_base(ref: dict | None, where: Path, device, backbone: VideoTextModel | None,
               allow_other_base: bool) -> VideoTextModel:
    from actionkit.backbones.load import load_backbone

    if ref is None:
        raise ValueError(f"{where} does not record the model it was trained on; give it (e.g. --patcher DIR for an "
                         "older fuser folder)")
    if "model" in ref:
        return load_model(_path(ref, "model", where), device, backbone=backbone, allow_other_base=allow_other_base)
    if backbone is not None:
        return backbone
    if ref.get("backbone") is None:
        raise ValueError(f"{where} does not record its backbone; give --backbone (and --weights)")
    return load_backbone(ref["backbone"], _path(ref, "weights", where), device=device)


def _path(ref: dict, key: str, where: Path) -> Path | None:
    """A recorded path: relative to the method folder if it is there (the run folder moved), else as recorded."""
    if ref.get(f"{key}_relative"):
        moved = where.parent / ref[f"{key}_relative"]
        if moved.exists():
            return moved
    return None if ref.get(key) is None else Path(ref[key])


def _check_base(expected: str | None, base: VideoTextModel, where: Path, allow_other_base: bool) -> None:
    if expected is None:
        log.warning("%s records no base fingerprint (an older folder): the base cannot be checked", where)
        return
    found = base.fingerprint()
    if found == expected:
        return
    message = (f"{where}: trained on a base with fingerprint {expected}, but the base given has {found} "
               "(another backbone, other weights or other settings)")
    if not allow_other_base:
        raise BaseMismatch(message + "; pass --allow-other-base to use it anyway")
    log.warning("%s; used anyway (--allow-other-base)", message)


def _load_heads(heads: MethodHeads, tensors: dict[str, torch.Tensor], where: Path) -> None:
    """Load strictly; what does not fit is named tensor by tensor (ConfigMismatch)."""
    own = heads.state_dict()
    problems = [f"missing {k}" for k in own if k not in tensors]
    problems += [f"unexpected {k}" for k in tensors if k not in own]
    problems += [f"{k}: checkpoint {list(tensors[k].shape)} vs model {list(v.shape)}"
                 for k, v in own.items() if k in tensors and tensors[k].shape != v.shape]
    if problems:
        raise ConfigMismatch(f"{where}: the weights do not fit the heads built for this base: "
                             + "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
    heads.load_state_dict(tensors)


