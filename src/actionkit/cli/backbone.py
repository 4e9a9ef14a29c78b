"""``actionkit backbone train``: the built-in world / lit backbones."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionkit.cli.common import HELP, common_options, default_weights


def cmd_backbone_train(args: argparse.Namespace) -> int:
    from actionkit.backbones.world import WorldBackboneConfig
    from actionkit.backbones.world_training import WorldTrainConfig, train_world_backbone

    cfg = WorldTrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                           workers=args.workers, device=args.device)
    model_cfg = WorldBackboneConfig.lit() if args.backbone == "lit" else WorldBackboneConfig()
    out = args.out or str(default_weights(args.backbone, Path(args.data)))
    summary = train_world_backbone(args.data, out, model_cfg, cfg, progress=not args.no_progress, resume=args.resume)
    print(json.dumps(summary, indent=2))
    print(f"saved the {args.backbone} backbone to {out}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    backbone = sub.add_parser("backbone", help="the built-in world backbone").add_subparsers(dest="backbone_command",
                                                                                             required=True)
    train = backbone.add_parser("train", parents=[common_options()], formatter_class=HELP,
                                help="train it on the Action World train split")
    train.add_argument("--backbone", default="world", choices=["world", "lit"],
                       help="world: CNN trained from scratch; lit: locked ImageNet EfficientNet-Lite0 + MiniLM")
    train.add_argument("--data", required=True, help="world folder (with manifest.jsonl)")
    train.add_argument("--out", help="checkpoint folder (default: DATA/backbone, lit: DATA/backbone-lit)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    train.add_argument("--epochs", type=int, default=40)
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument("--lr", type=float, default=3e-3)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="cpu")
    train.set_defaults(func=cmd_backbone_train)
