"""Downstream suite on the Action World: backbone vs PAXION-patched vs fused, every task.

    python benchmarks/downstream.py --run runs/demo        # a folder written by `actionkit demo`

Uses the run's world, backbone, feature cache and patcher (made by the demo); trains the
Knowledge Fuser (``METHODS["paxion_fuser"]``: patcher frozen, VTC on the train split) into
RUN/fuser if it is not there, and a second patcher with two verb pairs held out of its training
(RUN/downstream/heldout-patcher) for the held-out-verb zero-shot protocol. Writes
RUN/downstream/downstream.md and downstream.json (``{model: {task: {metric: value}}}`` for
backbone, patched, fused).
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace
from pathlib import Path

from actionkit.backbones.world import WorldBackbone
from actionkit.data.manifest import read_manifest
from actionkit.eval.run import TASKS, evaluate
from actionkit.eval.tasks import SHOTS
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.extract import ExtractConfig, extract_features
from actionkit.methods import METHODS, load_model
from actionkit.methods.checkpoint import base_reference, is_method_folder
from actionkit.methods.paxion.fuser import FuserConfig
from actionkit.methods.paxion.method import PaxionConfig
from actionkit.methods.training import train_method
from actionkit.report import downstream_table_markdown, write_json_atomic, write_text_atomic
from actionkit.tasksets import TaskFiles, task_sets
from actionkit.train.trainer import TrainerConfig
from actionkit.world.vocabulary import PAIRS_BY_KEY

HELD_OUT_PAIRS = ("open_close", "grow_shrink")   # verbs the held-out patcher never trains on
OBJECT_CENTRIC = {("mcqa", "accuracy_object")}
ACTION_CENTRIC = {("zeroshot", "top1"), ("video2action", "R@1"), ("mcqa", "accuracy_action"), ("rcad", "R@1")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a demo run folder (world/, backbone/, patcher/)")
    parser.add_argument("--out", help="output folder (default RUN/downstream)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--patch-epochs", type=int, default=30, help="epochs of the held-out-verb patcher")
    parser.add_argument("--fuser-epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, help="of the fuser and the held-out patcher (default: each "
                        "method's own, 128; a small world such as `actionkit demo --quick` needs fewer)")
    parser.add_argument("--shots", type=int, nargs="+", default=list(SHOTS),
                        help="few-shot K values (default %(default)s; a small world, e.g. `actionkit demo "
                             "--quick`, has too few test clips per verb for 8 and 16)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    def trainer(defaults: TrainerConfig, **changes) -> TrainerConfig:
        if args.batch_size:
            changes["batch_size"] = args.batch_size
        return replace(defaults, **changes)

    start = time.time()
    run = Path(args.run)
    out = Path(args.out) if args.out else run / "downstream"
    world, cache = run / "world", run / "features"
    backbone = WorldBackbone.load(run / "backbone")
    records = [r for r in read_manifest(world / "manifest.jsonl") if r.split in ("train", "test")]
    extract_features(backbone, records, world, cache, ExtractConfig(workers=args.workers))   # no-op when cached
    train = [r for r in records if r.split == "train"]
    test = [r for r in records if r.split == "test"]
    train_features = ClipFeatures.from_cache(cache, train, backbone)
    test_features = ClipFeatures.from_cache(cache, test, backbone)

    if not is_method_folder(run / "patcher"):
        raise FileNotFoundError(f"no patcher in {run / 'patcher'}; run `actionkit demo --out {run}` first")
    patched = load_model(run / "patcher", backbone=backbone)
    if not is_method_folder(run / "fuser"):
        fuser = METHODS["paxion_fuser"]
        train_method(fuser, patched, base_reference(model=run / "patcher"), train_features, run / "fuser",
                     FuserConfig(), trainer(fuser.train_defaults, epochs=args.fuser_epochs, lr=1e-3), resume=True)
    fused = load_model(run / "fuser", base=patched)   # older fuser folders do not record their patcher

    sets = task_sets(test, TaskFiles(), TASKS)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, model in (("backbone", backbone), ("patched", patched), ("fused", fused)):
        results[name] = evaluate(model, test, world, TASKS, sets, features=test_features,
                                 shots=tuple(args.shots)).metrics

    # Held-out verbs: a patcher trained without two verb pairs, zero-shot among those four verbs.
    held = {v for key in HELD_OUT_PAIRS for v in (PAIRS_BY_KEY[key].forward, PAIRS_BY_KEY[key].backward)}
    heldout_dir = out / "heldout-patcher"
    if not is_method_folder(heldout_dir):
        paxion = METHODS["paxion"]
        heldout_features = ClipFeatures.from_cache(cache, [r for r in train if r.verb not in held], backbone)
        train_method(paxion, backbone, base_reference("world", run / "backbone"), heldout_features, heldout_dir,
                     PaxionConfig(), trainer(paxion.train_defaults, epochs=args.patch_epochs), resume=True)
    held_test = [r for r in test if r.verb in held]
    held_sets = task_sets(held_test, TaskFiles(), ("zeroshot",))
    for name, model in (("backbone", backbone), ("patched", load_model(heldout_dir, backbone=backbone))):
        results[name]["zeroshot_heldout"] = evaluate(model, held_test, world, ("zeroshot",), held_sets,
                                                     features=test_features).metrics["zeroshot"]

    write_json_atomic(out / "downstream.json", results)
    table = downstream_table_markdown(results)
    lines = [f"Downstream tasks on the Action World test split ({len(test)} clips; `python benchmarks/downstream.py "
             f"--run {run}`, {time.time() - start:.0f} s). `patched` in the zeroshot_heldout rows is a patcher "
             f"trained without the verbs {', '.join(sorted(held))}, tested zero-shot among exactly those four; "
             "the frozen backbone saw every verb's captions in its own training.", "", table, ""]
    for label, keys in (("object-centric", OBJECT_CENTRIC), ("action-centric", ACTION_CENTRIC)):
        for task, metric in sorted(keys):
            b, f = results["backbone"][task][metric], results["fused"][task][metric]
            lines.append(f"- {label} {task} {metric}: fused {f:.3f} vs backbone {b:.3f} ({f - b:+.3f})")
    write_text_atomic(out / "downstream.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten: {out / 'downstream.md'}, {out / 'downstream.json'}")


if __name__ == "__main__":
    main()
