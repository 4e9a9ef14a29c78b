"""``actionkit compare``: the frozen backbone and every ``--model NAME=DIR`` through the probes and tasks."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from actionkit.cli.common import (HELP, backbone_options, cached_features, common_options, data_options,
                                  load_backbone_from, manifest_and_root, read_options, read_split, reading_options,
                                  stand_in_backbone)
from actionkit.cli.evaluate import task_options


def _named(specs: list[str]) -> list[tuple[str | None, str]]:
    """``NAME=DIR`` or ``DIR`` (named by its method) -> [(name or None, dir)]."""
    out = []
    for spec in specs:
        name, sep, folder = spec.partition("=")
        out.append((name, folder) if sep else (None, spec))
    return out


def cmd_compare(args: argparse.Namespace) -> int:
    from actionkit.compare import compare_models, write_compare
    from actionkit.methods import backbone_of, load_model
    from actionkit.report import downstream_table_markdown, probe_table_markdown
    from actionkit.tasksets import TaskFiles, task_sets
    from actionkit.eval.run import TASKS
    from actionkit.probes.controls import CONTROLS

    manifest, root = manifest_and_root(args.data, args.videos)
    named = _named(args.model or [])
    backbone = stand_in_backbone(args, named[0][1], manifest.parent, args.device) if named else \
        load_backbone_from(args, manifest.parent, args.device)[0]
    models = {}
    for name, folder in named:        # every model on one backbone: the first model's unless one is named
        model = load_model(folder, args.device, backbone=backbone, allow_other_base=args.allow_other_base)
        backbone = backbone or backbone_of(model)
        name = name or model.name
        if name in models or name == "backbone":
            raise ValueError(f"--model {folder}: the name {name!r} is taken; write NAME={folder}")
        models[name] = model
    models = {"backbone": backbone, **models}
    records = read_split(manifest, args.split)
    files = TaskFiles(tuple(args.classes or ()), args.questions, args.counterfactuals, args.seed)
    sets = task_sets(records, files, TASKS)
    start = time.time()
    result = compare_models(models, records, root, sets, cached_features(args.features, records, backbone),
                            shots=tuple(args.shots), fewshot_seeds=tuple(range(args.fewshot_seeds)),
                            workers=args.workers, progress=not args.no_progress, device=args.device,
                            read=read_options(args), controls=() if args.no_controls else tuple(CONTROLS))
    result = {"split": args.split, **result, "wall_seconds": round(time.time() - start, 2)}
    write_compare(args.out, result)
    print(probe_table_markdown({n: m["probes"] for n, m in result["models"].items()}))
    print(downstream_table_markdown({n: m["tasks"] for n, m in result["models"].items()}))
    for task, why in result["skipped_tasks"].items():
        print(f"left out {task}: {why}")
    out = Path(args.out)
    print(f"\n{result['n_clips']} clips, {result['skipped']} skipped; {out / 'compare.json'}, {out / 'compare.md'}, "
          f"{out / 'compare_probes.png'}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", parents=[common_options(), reading_options(), backbone_options(), task_options(),
                                           data_options("test")], formatter_class=HELP,
                       help="the backbone and trained models side by side: probes and every task that fits")
    p.add_argument("--model", nargs="+", action="extend", metavar="NAME=DIR",
                   help="a trained method's folder, optionally named (default name: the method's, e.g. patched)")
    p.add_argument("--allow-other-base", action="store_true",
                   help="compare a model even if it was trained on another backbone than --backbone/--weights")
    p.add_argument("--out", required=True, help="output folder (compare.json, compare.md, compare_probes.png)")
    p.add_argument("--no-controls", action="store_true",
                   help="skip the controls (last frame only, first frame only, shuffled frames)")
    p.set_defaults(func=cmd_compare)
