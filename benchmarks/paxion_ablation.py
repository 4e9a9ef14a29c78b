"""PAXION ablation: which DVDM loss does what (and what the order-aware text side adds).

Trains the Knowledge Patcher (``METHODS["paxion"]``) on the frozen built-in backbone with VTC,
VTC+VAC, VTC+ATM and VTC+VAC+ATM (plus VTC+VAC+ATM without the text perceiver, and with VAC as
a term of its own), 3 seeds each, the same budget, and probes each on the held-out test split.
VAC is PaxionConfig's default ``vac="in_vtc"`` (the antonym captions join VTC's video->text
pool, as the authors train it) except in "vtc+vac+atm (vac separate)" (``vac="separate"``: a
loss term of its own, as the numbers in the README were measured). Writes ``paxion_ablation.md`` and
``paxion_ablation.json`` (``{objectives: {probe: {mean, std, runs}}}``) into ``--out``.

    python benchmarks/paxion_ablation.py --run runs/demo          # reuses a demo's world + backbone
    python benchmarks/paxion_ablation.py --run runs/abl --n 5000  # makes them first if missing

Finished runs are kept (``--out/runs/<name>-s<seed>.json``) and skipped when rerun.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from actionkit.backbones.protocol import VideoTextModel
from actionkit.backbones.world import WorldBackbone
from actionkit.backbones.world_training import WorldTrainConfig, train_world_backbone
from actionkit.data.manifest import read_manifest
from actionkit.features.clip_features import ClipFeatures
from actionkit.methods import METHODS, load_model
from actionkit.methods.checkpoint import base_reference
from actionkit.methods.paxion.method import PaxionConfig
from actionkit.methods.training import train_method
from actionkit.probes.actionbench import run_actionbench
from actionkit.probes.metrics import PROBES
from actionkit.report import write_json_atomic, write_text_atomic
from actionkit.world.generate import WorldConfig, generate_world

ALL = ("vtc", "vac", "atm")
VARIANTS: dict[str, dict[str, Any]] = {   # name -> PaxionConfig fields (the rest: its defaults)
    "vtc": dict(objectives=("vtc",)),
    "vtc+vac": dict(objectives=("vtc", "vac")),
    "vtc+atm": dict(objectives=("vtc", "atm")),
    "vtc+vac+atm": dict(objectives=ALL),
    "vtc+vac+atm (pooled text)": dict(objectives=ALL, text_perceiver=False),
    "vtc+vac+atm (vac separate)": dict(objectives=ALL, vac="separate"),
}
TITLES = {"action_antonym": "Action Antonym", "video_reversal": "Video Reversal",
          "object_replacement": "Object Replacement"}


def probe_cached(model: VideoTextModel, test: ClipFeatures) -> dict[str, float]:
    """ActionBench accuracies of a patched model on cached test-clip frame features."""
    results = run_actionbench(model, test.records, root="", features=test, progress=False).results
    return {name: results[name].accuracy for name in PROBES}


def prepare(run: Path, n: int, workers: int) -> Path:
    """The world and the trained backbone of ``run`` (made if missing, as the demo makes them)."""
    world = run / "world"
    if not (world / "manifest.jsonl").is_file():
        generate_world(world, n, WorldConfig(), workers=workers)
    if not (run / "backbone" / "model.safetensors").is_file():
        train_world_backbone(world, run / "backbone", cfg=WorldTrainConfig(workers=workers), resume=True)
    return world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="runs/ablation", help="folder with world/ and backbone/ (made if missing)")
    parser.add_argument("--out", help="output folder (default RUN/ablation)")
    parser.add_argument("--n", type=int, default=5000, help="world size if it has to be made")
    parser.add_argument("--epochs", type=int, default=30, help="patcher epochs, the same for every run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    run = Path(args.run)
    out = Path(args.out) if args.out else run / "ablation"
    world = prepare(run, args.n, args.workers)
    backbone = WorldBackbone.load(run / "backbone")
    manifest = world / "manifest.jsonl"
    train_features = ClipFeatures.extract(backbone, read_manifest(manifest, split="train"), world,
                                          workers=args.workers)
    test = ClipFeatures.extract(backbone, read_manifest(manifest, split="test"), world, workers=args.workers)

    paxion = METHODS["paxion"]
    base = base_reference("world", run / "backbone")
    results: dict[str, dict[str, list[float]]] = {}
    for name in args.variants:
        cfg = PaxionConfig(**VARIANTS[name])
        config = json.loads(json.dumps(asdict(cfg)))            # as stored (tuples -> lists)
        for seed in args.seeds:
            slug = name.replace(" ", "_").replace("(", "").replace(")", "").replace("+", "-")
            done = out / "runs" / f"{slug}-s{seed}.json"
            kept = json.loads(done.read_text()) if done.is_file() else None
            if kept is not None and kept.get("config") == config and kept.get("epochs") == args.epochs:
                accuracy = kept["accuracy"]
            else:   # not run yet, or run with other settings (e.g. before VAC joined VTC by default)
                start = time.time()
                train = replace(paxion.train_defaults, epochs=args.epochs, seed=seed)
                train_method(paxion, backbone, base, train_features, out / "runs" / f"{slug}-s{seed}", cfg, train)
                accuracy = probe_cached(load_model(out / "runs" / f"{slug}-s{seed}", backbone=backbone), test)
                write_json_atomic(done, {"variant": name, "seed": seed, "epochs": args.epochs, "config": config,
                                         "accuracy": accuracy, "seconds": round(time.time() - start, 1)})
            print(f"{name:28s} seed {seed}: " + "  ".join(f"{TITLES[p]} {accuracy[p]:.3f}" for p in PROBES))
            for probe in PROBES:
                results.setdefault(name, {}).setdefault(probe, []).append(accuracy[probe])

    summary = {name: {probe: {"mean": statistics.fmean(v), "std": statistics.pstdev(v) if len(v) > 1 else 0.0,
                              "runs": v} for probe, v in per.items()} for name, per in results.items()}
    lines = [f"PAXION ablation on the Action World test split ({len(test.records)} clips; "
             f"{args.epochs} epochs, seeds {args.seeds}; mean +- std; VAC inside VTC unless "
             "\"vac separate\")", "",
             "| objectives | " + " | ".join(TITLES[p] for p in PROBES) + " |",
             "| --- |" + " ---: |" * len(PROBES)]
    for name, per in summary.items():
        lines.append(f"| {name} | " + " | ".join(f"{per[p]['mean']:.3f} +- {per[p]['std']:.3f}" for p in PROBES) + " |")
    table = "\n".join(lines) + "\n"
    write_text_atomic(out / "paxion_ablation.md", table)
    write_json_atomic(out / "paxion_ablation.json", {"objectives": summary})
    print("\n" + table)
    print(f"wrote {out / 'paxion_ablation.md'} and {out / 'paxion_ablation.json'}")


if __name__ == "__main__":
    main()
