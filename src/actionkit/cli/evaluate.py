"""``actionkit eval`` (downstream tasks for one model) and ``actionkit finetune`` (train the
Knowledge Fuser on the train split, then evaluate)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionkit.cli.common import (HELP, backbone_options, cached_features, common_options, data_options, load_models,
                                  manifest_and_root, model_options, output_path, read_options, read_split,
                                  reading_options, training_features)


def task_options() -> argparse.ArgumentParser:
    t = argparse.ArgumentParser(add_help=False)
    t.add_argument("--task", default="all",
                   help="all, or comma-separated: zeroshot,fewshot,retrieval,video2action,mcqa,rcad")
    t.add_argument("--classes", nargs="+", help="class list(s), one class per line, for zeroshot/fewshot/"
                   "video2action; several split files (e.g. the three UCF101 splits) give mean +- std over them; "
                   "default: every verb of the split")
    t.add_argument("--questions", help="multiple-choice JSONL (default on the Action World: built)")
    t.add_argument("--counterfactuals", help="RCAD JSONL (default on the Action World: built)")
    t.add_argument("--shots", type=int, nargs="+", default=[2, 4, 8, 16], help="few-shot K values")
    t.add_argument("--fewshot-seeds", type=int, default=3, help="episodes (seeds 0..N-1) per K")
    t.add_argument("--seed", type=int, default=0, help="seed of the Action World's question building")
    return t


def tasks_of(args: argparse.Namespace) -> tuple[str, ...]:
    from actionkit.eval.run import TASKS

    return TASKS if args.task == "all" else tuple(t.strip() for t in args.task.split(","))


def run_tasks(args: argparse.Namespace, model, records, root, features, embedded=None):
    """``evaluate`` with the sets these arguments and records call for."""
    from actionkit.eval.run import evaluate
    from actionkit.tasksets import TaskFiles, task_sets

    tasks = tasks_of(args)
    files = TaskFiles(tuple(args.classes or ()), args.questions, args.counterfactuals, args.seed)
    return evaluate(model, records, root, tasks, task_sets(records, files, tasks), features=features,
                    progress=not args.no_progress, workers=args.workers, device=args.device, read=read_options(args),
                    shots=tuple(args.shots), fewshot_seeds=tuple(range(args.fewshot_seeds)), embedded=embedded)


def _print(results: dict, out: Path) -> None:
    from actionkit.report import downstream_table_markdown

    print(downstream_table_markdown(results))
    print(f"\nJSON: {out}")


def cmd_eval(args: argparse.Namespace) -> int:
    from actionkit.eval.explanations import explanation_line
    from actionkit.report import write_json_atomic

    manifest, root = manifest_and_root(args.data, args.videos)
    backbone, model, name = load_models(args, manifest.parent, args.device)
    records = read_split(manifest, args.split)
    result = run_tasks(args, model, records, root, cached_features(args.features, records, backbone))
    out = output_path(args.out, manifest.parent, "eval", name, args.split)
    report = {"models": {name: result.metrics}, "split": args.split, "n_clips": result.n_clips,
              "skipped": len(result.skipped), "skipped_items": [s.to_dict() for s in result.skipped]}
    if result.explanations is not None:
        report["explanations"] = {name: result.explanations}
    write_json_atomic(out, report)
    if result.explanations is not None:
        print(explanation_line(result.explanations))
    _print({name: result.metrics}, out)
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    """Train the Knowledge Fuser on the train split (its base frozen), then evaluate on --split."""
    from actionkit.methods import METHODS, load_model
    from actionkit.methods.checkpoint import base_reference
    from actionkit.methods.paxion.fuser import FuserConfig
    from actionkit.methods.training import train_method
    from actionkit.report import write_json_atomic
    from actionkit.train.distributed import init_from_env, rank_and_world
    from actionkit.train.trainer import TrainerConfig

    args.device = init_from_env(args.device)
    manifest, root = manifest_and_root(args.data, args.videos)
    backbone, base, _ = load_models(args, manifest.parent, args.device)
    if base is backbone:
        raise ValueError("finetune needs --model (or --patcher): the fuser reads the frozen patcher's latents")
    method = METHODS["paxion_fuser"]
    out_dir = Path(args.out or manifest.parent / "fuser")
    train = TrainerConfig(**{**vars(method.train_defaults), "epochs": args.epochs, "batch_size": args.batch_size,
                             "lr": args.lr, "seed": args.seed, "device": args.device})
    train_records = read_split(manifest, "train")
    features = training_features(args, train_records, backbone, root, args.device)
    summary = train_method(method, base, base_reference(model=args.model or args.patcher), features, out_dir,
                           FuserConfig(variant=args.variant), train, progress=not args.no_progress, resume=args.resume)
    print(json.dumps(summary, indent=2))
    if rank_and_world()[0] != 0:       # under torchrun: training is shared, evaluation is rank 0's
        return 0
    fused = load_model(out_dir, args.device, base=base)
    records = read_split(manifest, args.split)
    result = run_tasks(args, fused, records, root, cached_features(args.features, records, backbone))
    out = out_dir / f"eval_{args.split}.json"
    write_json_atomic(out, {"models": {"fused": result.metrics}, "split": args.split, "n_clips": result.n_clips,
                            "skipped": len(result.skipped), "fuser": summary})
    _print({"fused": result.metrics}, out)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    shared = [common_options(), reading_options(), backbone_options(), model_options(), task_options()]
    ev = sub.add_parser("eval", parents=[*shared, data_options("test")], formatter_class=HELP,
                        help="downstream tasks for one model")
    ev.add_argument("--out", help="JSON output (default: eval_<model>_<split>.json beside the manifest)")
    ev.set_defaults(func=cmd_eval)

    ft = sub.add_parser("finetune", parents=[*shared, data_options(features=True)], formatter_class=HELP,
                        help="train the Knowledge Fuser on the train split (patcher frozen), then evaluate")
    ft.add_argument("--out", help="fuser folder (default DATA_FOLDER/fuser); its eval JSON goes inside")
    ft.add_argument("--split", default="test", choices=["val", "test"], help="evaluated split")
    ft.add_argument("--variant", default="cross_attention", choices=["cross_attention", "side_tuning"])
    ft.add_argument("--epochs", type=int, default=10)
    ft.add_argument("--batch-size", type=int, default=128)
    ft.add_argument("--lr", type=float, default=1e-3)
    ft.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    ft.set_defaults(func=cmd_finetune)
