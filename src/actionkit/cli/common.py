"""What the verbs share: option groups, reading ``--data``, loading the model to score."""

from __future__ import annotations

import argparse
from pathlib import Path

from actionkit.backbones.protocol import VideoTextModel

HELP = argparse.ArgumentDefaultsHelpFormatter   # every --help shows the defaults


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workers", type=int, default=2, help="decoding/rendering worker processes")
    common.add_argument("--no-progress", action="store_true", help="no progress bars")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return common


def reading_options() -> argparse.ArgumentParser:
    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("--strict", action="store_true",
                         help="stop at the first unreadable clip instead of skipping and counting it")
    reading.add_argument("--timeout", type=float, default=120.0, help="seconds a clip may take to decode")
    reading.add_argument("--allow-outside-root", action="store_true",
                         help="read annotation paths that leave the video root (../, absolute paths elsewhere)")
    return reading


def data_options(split: str | None = None, features: bool = True) -> argparse.ArgumentParser:
    """--data, --videos (and --split, --features)."""
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data", required=True, help="a manifest .jsonl file, or a folder holding manifest.jsonl")
    data.add_argument("--videos", help="folder the manifest paths are relative to (default: the manifest's folder)")
    if split is not None:
        data.add_argument("--split", default=split, choices=["train", "val", "test", "all"])
    if features:
        data.add_argument("--features", help="read frame features from this cache (`actionkit extract`) instead "
                                             "of decoding videos")
    return data


def backbone_options(device: bool = True) -> argparse.ArgumentParser:
    bb = argparse.ArgumentParser(add_help=False)
    bb.add_argument("--backbone", help="world, lit, hf-clip:DIR or hf-xclip:DIR (default: the one a --model was "
                                       "trained on, else world)")
    bb.add_argument("--weights", help="backbone weights (world: a folder from `actionkit backbone train`; default "
                                      "DATA_FOLDER/backbone)")
    if device:
        bb.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    return bb


def model_options() -> argparse.ArgumentParser:
    """--model DIR (any method's folder) and its older spellings --patcher / --fuser."""
    m = argparse.ArgumentParser(add_help=False)
    m.add_argument("--model", help="a trained method's folder (`actionkit train`); default: the frozen backbone")
    m.add_argument("--patcher", help="older spelling of --model for a PAXION patcher folder")
    m.add_argument("--fuser", help="a Knowledge Fuser folder (older folders also need the --patcher it sits on)")
    m.add_argument("--allow-other-base", action="store_true",
                   help="use a model even if its base (backbone, weights) differs from the one it was trained on")
    return m


def manifest_and_root(data: str, videos: str | None) -> tuple[Path, Path]:
    """``--data`` is a manifest file, or a folder holding manifest.jsonl; videos default to its folder."""
    path = Path(data)
    manifest = path / "manifest.jsonl" if path.is_dir() else path
    return manifest, Path(videos) if videos else manifest.parent


def read_split(manifest: Path, split: str) -> list:
    """The records of ``split`` ("all": every record) of exactly this manifest; none is an error."""
    from actionkit.data.manifest import read_manifest

    records = read_manifest(manifest, split=None if split == "all" else split)
    if not records:
        raise ValueError(f"{manifest}: no clips in split {split!r}")
    return records


def default_weights(backbone: str, data_folder: Path) -> Path | None:
    """Where `actionkit backbone train` puts the Action World backbones; real backbones name their own path."""
    return {"world": data_folder / "backbone", "lit": data_folder / "backbone-lit"}.get(backbone)


def load_backbone_from(args: argparse.Namespace, data_folder: Path, device: str) -> tuple[VideoTextModel, dict]:
    """(the backbone of --backbone/--weights, its reference for method.json)."""
    from actionkit.backbones.load import load_backbone
    from actionkit.methods.checkpoint import base_reference

    name = args.backbone or "world"
    weights = args.weights or default_weights(name, data_folder)
    return load_backbone(name, weights, device=device), base_reference(name, weights)


def stand_in_backbone(args: argparse.Namespace, folder: str | Path, data_folder: Path,
                      device: str) -> VideoTextModel | None:
    """The backbone to load a method folder on: None (the one its method.json records) unless
    --backbone / --weights name one, or the folder is of the older format that records none."""
    from actionkit.methods.checkpoint import METHOD_FILE

    if not (args.backbone or args.weights) and (Path(folder) / METHOD_FILE).is_file():
        return None
    return load_backbone_from(args, data_folder, device)[0]


def load_models(args: argparse.Namespace, data_folder: Path, device: str
                ) -> tuple[VideoTextModel, VideoTextModel, str]:
    """(backbone, model to score, its name) from --backbone/--weights and --model (or --patcher/--fuser).

    A --model folder loads the base it records, unless --backbone or --weights name another.
    """
    from actionkit.methods import backbone_of, load_model

    folder = args.model or args.patcher
    if args.model and args.patcher:
        raise ValueError("give --model or its older spelling --patcher, not both")
    if not folder and not args.fuser:
        backbone, _ = load_backbone_from(args, data_folder, device)
        return backbone, backbone, backbone.name
    given = stand_in_backbone(args, folder or args.fuser, data_folder, device)
    model = load_model(folder, device, backbone=given, allow_other_base=args.allow_other_base) if folder else None
    if args.fuser:
        model = load_model(args.fuser, device, backbone=given, base=model, allow_other_base=args.allow_other_base)
    return backbone_of(model), model, model.name


def read_options(args: argparse.Namespace):
    from actionkit.data.clips import ReadOptions

    return ReadOptions(timeout_s=args.timeout, strict=args.strict, allow_outside_root=args.allow_outside_root)


def cached_features(path: str | None, records, backbone: VideoTextModel):
    """``--features CACHE``: the cached frame features of ``records`` (the cache must be the backbone's)."""
    if not path:
        return None
    from actionkit.features.clip_features import ClipFeatures

    return ClipFeatures.from_cache(path, records, backbone)


def training_features(args: argparse.Namespace, records, backbone: VideoTextModel, root: Path, device: str):
    """The backbone's frame features of the training ``records``: from ``--features``, else extracted now."""
    from actionkit.features.clip_features import ClipFeatures

    if args.features:
        return ClipFeatures.from_cache(args.features, records, backbone)
    return ClipFeatures.extract(backbone, records, root, workers=args.workers, progress=not args.no_progress,
                                device=device, read=read_options(args))


def output_path(given: str | None, folder: Path, kind: str, name: str, split: str) -> Path:
    """``--out``, or ``<kind>_<model name>_<split>.json`` beside the manifest."""
    return Path(given) if given else folder / f"{kind}_{name.replace(':', '_').replace('/', '_')}_{split}.json"
