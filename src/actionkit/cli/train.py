"""``actionkit train METHOD``: any method of the table; ``patch`` and ``fuse`` are its older spellings."""

from __future__ import annotations

import argparse
import json

from actionkit.cli.common import (HELP, backbone_options, common_options, data_options, load_backbone_from,
                                  manifest_and_root, read_split, reading_options, stand_in_backbone, training_features)
from actionkit.cli.method_options import add_method_flags, configs_from_args


def cmd_train(args: argparse.Namespace) -> int:
    from actionkit.methods import METHODS, backbone_of, load_model
    from actionkit.methods.checkpoint import base_reference
    from actionkit.methods.training import train_method
    from actionkit.train.distributed import init_from_env

    method = METHODS[args.method]
    device = init_from_env(args.device)
    cfg, train = configs_from_args(args, method, device)
    manifest, root = manifest_and_root(args.data, args.videos)
    records = read_split(manifest, "train")          # exactly the manifest --data names, never another
    if args.base:
        given = stand_in_backbone(args, args.base, manifest.parent, device)
        base = load_model(args.base, device, backbone=given, allow_other_base=args.allow_other_base)
        base_ref = base_reference(model=args.base)
    else:
        base, base_ref = load_backbone_from(args, manifest.parent, device)
    backbone = backbone_of(base)
    features = training_features(args, records, backbone, root, device)
    out = args.out or str(manifest.parent / args.default_out)
    summary = train_method(method, base, base_ref, features, out, cfg, train, progress=not args.no_progress,
                           resume=args.resume)
    print(json.dumps(summary, indent=2))
    print(f"saved {method.name} to {out}; probe it with `actionkit probe --data {args.data} --model {out}`")
    return 0


def _train_parser(sub: argparse._SubParsersAction, name: str, method, help_text: str, base_flag: str,
                  out_help: str, default_out: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, parents=[common_options(), reading_options(), backbone_options(),
                                      data_options(features=True)], formatter_class=HELP, help=help_text)
    p.add_argument(base_flag, dest="base", help="a trained method's folder to train on (instead of --backbone): "
                                                "e.g. the patcher under a Knowledge Fuser")
    p.add_argument("--allow-other-base", action="store_true", help="accept a base whose backbone differs from "
                                                                   "the one it was trained on")
    p.add_argument("--out", help=out_help)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    add_method_flags(p, method)
    p.set_defaults(func=cmd_train, method=method.name, default_out=default_out)
    return p


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from actionkit.methods import METHODS

    train = sub.add_parser("train", help="train a method's heads on a frozen backbone (or on another method)")
    methods = train.add_subparsers(dest="method_name", required=True, metavar="METHOD")
    for name, method in METHODS.items():
        _train_parser(methods, name, method, method.description, "--base", "output folder (default: "
                      f"DATA_FOLDER/{name})", name)
    if "paxion" in METHODS:
        _train_parser(sub, "patch", METHODS["paxion"], "= train paxion (PAXION's Knowledge Patcher with DVDM)",
                      "--base", "patcher folder (default DATA_FOLDER/patcher)", "patcher")
    if "paxion_fuser" in METHODS:
        _train_parser(sub, "fuse", METHODS["paxion_fuser"], "= train paxion_fuser --base PATCHER",
                      "--patcher", "fuser folder (default DATA_FOLDER/fuser)", "fuser")
