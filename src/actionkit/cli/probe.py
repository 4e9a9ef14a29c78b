"""``actionkit probe``: the three ActionBench probes for one model."""

from __future__ import annotations

import argparse
import time

from actionkit.cli.common import (HELP, backbone_options, cached_features, common_options, data_options, load_models,
                                  manifest_and_root, model_options, output_path, read_options, read_split,
                                  reading_options)


def cmd_probe(args: argparse.Namespace) -> int:
    from actionkit.eval.explanations import explanation_line
    from actionkit.probes.actionbench import report_blocks, run_actionbench
    from actionkit.probes.controls import CONTROLS
    from actionkit.report import controls_markdown, probe_table_markdown, write_json_atomic

    start = time.time()
    manifest, root = manifest_and_root(args.data, args.videos)
    backbone, model, name = load_models(args, manifest.parent, args.device)
    records = read_split(manifest, args.split)
    controls = () if args.no_controls else tuple(CONTROLS)
    result = run_actionbench(model, records, root, batch_size=args.batch_size, workers=args.workers,
                             progress=not args.no_progress, device=args.device,
                             features=cached_features(args.features, records, backbone), read=read_options(args),
                             controls=controls)
    report = {
        "split": args.split, "wall_seconds": round(time.time() - start, 2), "n_clips": result.n_clips,
        "skipped": len(result.skipped), **report_blocks({name: result}),
        "skipped_items": [s.to_dict() for s in result.skipped],
    }
    if result.explanations is not None:
        report["explanations"] = {name: result.explanations}
    out = output_path(args.out, manifest.parent, "probe", name, args.split)
    write_json_atomic(out, report)
    print(controls_markdown(report) if controls or result.groups else probe_table_markdown(report["models"]))
    if result.explanations is not None:
        print("\n" + explanation_line(result.explanations))
    print(f"\n{result.n_clips} clips scored, {len(result.skipped)} skipped; chance = 0.50; JSON: {out}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    probe = sub.add_parser("probe", parents=[common_options(), reading_options(), backbone_options(), model_options(),
                                             data_options("test")],
                           formatter_class=HELP, help="ActionBench probes: antonym, reversal, object replacement")
    probe.add_argument("--out", help="JSON output (default: probe_<model>_<split>.json beside the manifest)")
    probe.add_argument("--batch-size", type=int, default=32)
    probe.add_argument("--no-controls", action="store_true",
                       help="skip the controls (last frame only, first frame only, shuffled frames)")
    probe.set_defaults(func=cmd_probe)
