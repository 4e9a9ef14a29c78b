"""LSS against the frozen backbone, in the protocol the paper fits: adapt to actions the image-language
model was not trained on, from unlabelled video.

    python benchmarks/lss.py --run runs/demo [--seeds 0 1 2] [--variants frozen lss_full ...]

Uses the run's world (made by ``actionkit demo``). A second world backbone is trained with
the clips of ``HELD_OUT_PAIRS`` left out (their verbs are never in its captions), into
RUN/lss-bench/backbone-heldout, and its frame features cached (RUN/lss-bench/features). LSS
then trains on the unlabelled train clips of *every* verb (no label is read), with the
method's defaults, per variant and seed:

- ``frozen``: the held-out backbone, untouched;
- ``lss_distill``: concept distillation only; ``lss_align``: + concept alignment;
  ``lss_full``: + the uniform prior (the default LSS).

Measured on the test split: ``zeroshot_heldout.top1`` (class-name prompts among the held-out
verbs, on their clips), ``zeroshot.top1`` (all 30 verbs), ``linear_probe.top1`` (logistic
regression on every train clip's embedding, scored on the test clips), ``fewshot`` K = 2/4/8/16
(linear probe and prompt adapter over all verbs, 3 episodes), the ActionBench probes per family
with controls, training seconds, and the collapse monitor's last epoch. Models are kept in
RUN/lss-bench/<variant>-s<seed> and reused when their config matches. Writes
benchmarks/results/lss.{json,md}: ``{"variants": {NAME: {"tasks": {TASK: {METRIC: {"mean",
"std", "n"}}}, "families": {...}, "controls": {...}}}}``.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import torch
from sklearn.linear_model import LogisticRegression

from actionkit.backbones.world import WorldBackbone
from actionkit.backbones.world_training import WorldTrainConfig, train_world_backbone
from actionkit.data.manifest import read_manifest, write_manifest
from actionkit.eval import tasks as T
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.embeddings import embed_clips
from actionkit.features.extract import ExtractConfig, extract_features
from actionkit.methods import load_model
from actionkit.methods.lss.method import LssConfig
from actionkit.world.vocabulary import PAIRS_BY_KEY
from claver import (aggregate, command_line, fmt, probe_numbers, recognition_setup,   # benchmarks/claver.py
                    trained, write_results)

HELD_OUT_PAIRS = ("open_close", "orbit")     # as benchmarks/claver.py: one state pair, one dynamics pair
SHOTS = (2, 4, 8, 16)
VARIANTS: dict[str, dict | None] = {
    "frozen": None,
    "lss_distill": {"objectives": ("distill",)},
    "lss_align": {"objectives": ("distill", "align")},
    "lss_full": {},
}


def heldout_backbone(run: Path, store: Path, held: set[str]) -> Path:
    """Train (or reuse) a world backbone whose train clips hold no held-out verb; its folder."""
    folder = store / "backbone-heldout"
    if (folder / "model.safetensors").is_file():
        return folder
    world = store / "world-heldout"
    world.mkdir(parents=True, exist_ok=True)
    rows = [r for r in read_manifest(run / "world" / "manifest.jsonl") if not (r.split == "train" and r.verb in held)]
    write_manifest(world / "manifest.jsonl", rows)
    if not (world / "clips").exists():
        os.symlink((run / "world" / "clips").resolve(), world / "clips")
    train_world_backbone(world, folder, cfg=WorldTrainConfig(), progress=False, resume=True)
    return folder


def linear_probe(model, train, test, world, cache_features) -> float:
    """Top-1 of a logistic regression on every train clip's vector, on the test clips (all verbs)."""
    fitted = {}
    for name, records in (("train", train), ("test", test)):
        clips = embed_clips(model, records, world, cache_features, with_reversed=False, progress=False)
        fitted[name] = (model.clip_vector(clips.video).numpy(), [r.verb for r in clips.records])
    classifier = LogisticRegression(max_iter=2000, C=10.0).fit(*fitted["train"])
    return float(classifier.score(*fitted["test"]))


def markdown(result: dict, command: str) -> str:
    v = result["variants"]
    lines = [f"`{command}` — {result['test_clips']} test clips; held-out verbs: {', '.join(result['held_out_verbs'])};"
             f" {result['seconds']:.0f} s on {result['threads']} threads.", "",
             "| variant | zero-shot held-out | zero-shot all | linear probe | 16-shot linear | dynamics AA / VR |"
             " state AA / VR | teacher entropy (last epoch) | argmax concepts | train s |",
             "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |"]
    for name, r in v.items():
        t, f = r["tasks"], r["families"]
        monitor = r.get("monitor") or {}
        lines.append(f"| {name} | {fmt(t['zeroshot_heldout']['top1'])} | {fmt(t['zeroshot']['top1'])} | "
                     f"{fmt(t['linear_probe']['top1'])} | {fmt(t['fewshot']['linear_16shot'])} | "
                     f"{fmt(f['dynamics']['action_antonym'])} / {fmt(f['dynamics']['video_reversal'])} | "
                     f"{fmt(f['state']['action_antonym'])} / {fmt(f['state']['video_reversal'])} | "
                     f"{fmt(monitor.get('teacher_entropy'))} | {fmt(monitor.get('argmax_concepts'), 0)} | "
                     f"{fmt(r['train_seconds'], 0)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a demo run folder (world/)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, help="override the method's default epochs (a smoke run only)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="folder of lss.{json,md}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "actionkit"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))

    start = time.time()
    run = Path(args.run)
    world = run / "world"
    store = run / ("lss-bench" if args.epochs is None else f"lss-bench-e{args.epochs}")
    held = {v for key in HELD_OUT_PAIRS for v in (PAIRS_BY_KEY[key].forward, PAIRS_BY_KEY[key].backward)}
    backbone_dir = heldout_backbone(run, run / "lss-bench", held)
    backbone = WorldBackbone.load(backbone_dir)
    records = read_manifest(world / "manifest.jsonl")
    train = [r for r in records if r.split == "train"]
    test = [r for r in records if r.split == "test"]
    held_test = [r for r in test if r.verb in held]
    cache = run / "lss-bench" / "features"
    extract_features(backbone, train + test, world, cache, ExtractConfig(workers=2), progress=False)
    train_features = ClipFeatures.from_cache(cache, train, backbone)
    test_features = ClipFeatures.from_cache(cache, test, backbone)
    all_features = ClipFeatures.from_cache(cache, train + test, backbone)

    variants: dict[str, dict] = {}
    for variant in args.variants:
        runs = []
        seeds = args.seeds if VARIANTS[variant] is not None else args.seeds[:1]
        for seed in seeds:
            t0 = time.time()
            summary = None
            if VARIANTS[variant] is None:
                model = backbone
            else:
                folder = store / f"{variant}-s{seed}"
                summary = trained("lss", folder, LssConfig(**VARIANTS[variant]), seed, train_features, backbone,
                                  backbone_dir, args.epochs)
                model = load_model(folder, backbone=backbone)
            families, controls = probe_numbers(model, test, world, test_features)
            everything = recognition_setup(model, test, world, test_features)
            zeroshot = T.zero_shot(model, *everything)
            fewshot = T.few_shot(model, *everything, shots=SHOTS)
            monitor = summary["collapse_monitor"][-1] if summary and summary.get("collapse_monitor") else None
            runs.append({
                "tasks": {"zeroshot_heldout": {"top1": T.zero_shot(
                              model, *recognition_setup(model, held_test, world, test_features))["top1"]},
                          "zeroshot": {"top1": zeroshot["top1"], "mean_class": zeroshot["mean_class"]},
                          "linear_probe": {"top1": linear_probe(model, train, test, world, all_features)},
                          "fewshot": {k: v for k, v in fewshot.items() if not k.endswith("_std")}},
                "families": families, "controls": controls,
                "train_seconds": summary["seconds"] if summary else 0.0,
                "monitor": {k: monitor[k] for k in ("teacher_entropy", "argmax_concepts")} if monitor else None})
            logging.info("%s seed %d: zero-shot held-out %.3f, all %.3f, linear probe %.3f (%.0f s)", variant, seed,
                         runs[-1]["tasks"]["zeroshot_heldout"]["top1"], zeroshot["top1"],
                         runs[-1]["tasks"]["linear_probe"]["top1"], time.time() - t0)
        variants[variant] = {**aggregate(runs), "seeds": seeds}
        if variants[variant]["monitor"] is None:
            variants[variant]["monitor"] = {}

    result = {"variants": variants, "test_clips": len(test), "held_out_verbs": sorted(held),
              "seconds": round(time.time() - start, 1), "threads": torch.get_num_threads(), "run": str(run)}
    command = command_line("lss", [("seeds", args.seeds, [0, 1, 2]), ("variants", args.variants, list(VARIANTS))],
                           args.epochs)
    write_results(Path(args.out), "lss", result, markdown(result, command))


if __name__ == "__main__":
    main()
