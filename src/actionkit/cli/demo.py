"""``actionkit demo``: the whole Action World pipeline in one command."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from actionkit.cli.common import HELP, common_options


def cmd_demo(args: argparse.Namespace) -> int:
    from actionkit.demo import DemoConfig, run_demo
    from actionkit.report import probe_table_markdown

    cfg = DemoConfig(seed=args.seed, workers=args.workers)
    if args.quick:
        cfg = cfg.quick()
    if args.n is not None:
        cfg.n = args.n
    if args.epochs is not None:
        cfg.epochs = args.epochs
    out = Path(args.out) if args.out else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    report = run_demo(out, cfg, progress=not args.no_progress)
    print(probe_table_markdown(report["models"]))
    print(f"\nsplit {report['split']}: {report['n_clips']} clips, {report['skipped']} skipped, "
          f"{report['wall_seconds']:.0f} s; chance = 0.50")
    print(f"report: {out / 'report.md'}, {out / 'report.json'}, {out / 'probe_accuracy.png'}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", parents=[common_options()], formatter_class=HELP,
                          help="generate the world, train the backbone, probe it, patch it, report")
    demo.add_argument("--out", help="output folder (default runs/<timestamp>/; rerunning resumes)")
    demo.add_argument("--quick", action="store_true", help="the same pipeline, small (under a minute)")
    demo.add_argument("--n", type=int, help="number of clips (default 5000, quick 240)")
    demo.add_argument("--epochs", type=int, help="backbone training epochs")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=cmd_demo)
