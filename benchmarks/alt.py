"""ALT against a linear probe and mean pooling on the same frozen features, with its ablations.

    python benchmarks/alt.py --run runs/demo [--seeds 0 1 2] [--variants alt r0 ...]

Uses the run's world, backbone and feature cache (made by ``actionkit demo``). Over the 30
verbs of the world, test split:

- ``supervised``: top-1 of a model trained on every train clip (``actionkit train alt``
  defaults); for ``alt`` also the ActionBench probes per family with the controls, the
  explanations checked against the manifest, and the adapter's FLOPs per clip;
- ``fewshot``: K = 2/4/8/16 train clips per verb (the same clips for every variant at a seed),
  a model trained on those alone (the method's defaults, but ``FEWSHOT_STEPS`` optimizer steps
  and batches of at most half the clips), top-1 over the 30 verbs;
- ``zeroshot_heldout``: top-1 among the verbs of ``claver.HELD_OUT_PAIRS`` of a model trained
  without them (the frozen backbone was trained on their captions: only the heads are zero-shot).

Anchors, on the backbone's frozen clip embeddings (the mean of its frame embeddings):
``linear_probe`` (logistic regression on the shots) and ``mean_pool`` (the class-text classifier,
the prompt-ensembled class embeddings, fine-tuned on the shots: ``eval.tasks._prompt_adapter``;
``tasks.zeroshot.top1`` is it untuned).

Ablations (each a variant, measured on few-shot top-1 at ``--ablation-shots`` over every seed
and on the explanations; supervised top-1 at the first seed too with ``--ablation-supervised``): ``r0``/``r2``/``r6`` (tokens merged
per round; default 4), ``no_body_part``/``no_object``/``no_scene``/``no_motion`` (an entity kind
left out of the corpus), ``soft`` (the softmax mixture instead of the straight-through one-hot),
``sharp`` (align_scale 1000: the Gumbel noise no longer changes the training assignment, which
at 1/0.07 and tau 1 agrees with the argmax for only about 40% of regions), ``tuned`` (a learned
residual on the region projection).

Explanations: with the default frozen region projection nothing trained enters the alignment,
so a trained model explains a clip exactly as the untrained one does (the spread over seeds is
0); only ``r*``, ``no_*`` and ``tuned`` change them (``soft`` and ``sharp`` do not: the
explanation is the argmax). The held-out verbs' corpus entries (their gloss things, motion
primitives such as "opening") stay in the corpus of the held-out model: label-level text, as the
paper builds its corpus from label names.

Trained models are kept in RUN/alt-bench/ and reused when their ``method.json`` matches. Writes
benchmarks/results/alt.{json,md}: ``{"variants": {NAME: {"tasks": {"supervised": {"top1"},
"fewshot": {"top1_2shot": {"mean", "std", "n"}, ...}, "zeroshot_heldout": {"top1"}}, ...}}}``.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from actionkit.backbones.world import WorldBackbone
from actionkit.checkpoint import read_json
from actionkit.data.manifest import read_manifest
from actionkit.eval import tasks as T
from actionkit.eval.explanations import explanation_report
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.embeddings import embed_clips
from actionkit.methods import load_model
from actionkit.methods.checkpoint import METHOD_FILE
from actionkit.methods.alt.method import AltConfig
from actionkit.text.entities import KINDS
from actionkit.world.downstream import class_name
from actionkit.world.vocabulary import PAIRS_BY_KEY, verbs
from claver import (HELD_OUT_PAIRS, aggregate, command_line, fmt, probe_numbers,   # benchmarks/claver.py
                    trained, write_results)

SHOTS = (2, 4, 8, 16)
FEWSHOT_STEPS = 150
ABLATIONS: dict[str, dict] = {
    "r0": {"merge_r": 0}, "r2": {"merge_r": 2}, "r6": {"merge_r": 6},
    **{f"no_{kind}": {"entity_kinds": tuple(k for k in KINDS if k != kind)} for kind in KINDS},
    "soft": {"assignment": "soft"},
    "sharp": {"align_scale": 1000.0},
    "tuned": {"region_projection": "tuned"},
}
VARIANTS = ("alt", "linear_probe", "mean_pool", *ABLATIONS)


def support_set(records, k: int, seed: int) -> list:
    """K records per verb, drawn with ``random.Random(seed * 1000 + k)`` (the same for every variant)."""
    rng = random.Random(seed * 1000 + k)
    out = []
    for verb in verbs():
        of_verb = [r for r in records if r.verb == verb]
        out += rng.sample(of_verb, min(k, len(of_verb)))
    return out


def fewshot_training(n: int) -> tuple[int, int]:
    """(epochs, batch size) of a few-shot run on ``n`` clips: about FEWSHOT_STEPS steps."""
    batch = max(1, min(64, n // 2))
    return math.ceil(FEWSHOT_STEPS / (n // batch)), batch


class Setup:
    """The run's data, the frozen embeddings of the anchors and the class texts, computed once."""

    def __init__(self, run: Path):
        self.run, self.world, self.cache = run, run / "world", run / "features"
        self.backbone_dir = run / "backbone"
        self.store = run / "alt-bench"
        self.backbone = WorldBackbone.load(self.backbone_dir)
        records = read_manifest(self.world / "manifest.jsonl")
        self.train = [r for r in records if r.split == "train"]
        self.test = [r for r in records if r.split == "test"]
        self.verbs = verbs()
        self.names = [class_name(v) for v in self.verbs]
        self.held = {v for key in HELD_OUT_PAIRS for v in (PAIRS_BY_KEY[key].forward, PAIRS_BY_KEY[key].backward)}
        self.test_features = self.features(self.test)

    def features(self, records) -> ClipFeatures:
        return ClipFeatures.from_cache(self.cache, records, self.backbone)

    def labels(self, records) -> torch.Tensor:
        return torch.tensor([self.verbs.index(r.verb) for r in records])

    def embed(self, model, records) -> torch.Tensor:
        """The model's clip representations of ``records`` (every one is in the cache)."""
        clips = embed_clips(model, records, self.world, self.features(records), with_reversed=False, progress=False)
        assert [r.id for r in clips.records] == [r.id for r in records], "a clip is missing from the cache"
        return clips.video

    def top1(self, model, records=None, verbs_=None) -> float:
        """Top-1 of ``model`` over ``verbs_`` (default all) on ``records`` (default the test split)."""
        records = self.test if records is None else records
        verbs_ = self.verbs if verbs_ is None else verbs_
        labels = torch.tensor([verbs_.index(r.verb) for r in records])
        return T.zero_shot(model, self.embed(model, records), labels, [class_name(v) for v in verbs_])["top1"]


def anchor_numbers(s: Setup, variant: str, seeds: list[int], shots: tuple[int, ...]) -> dict:
    """linear_probe / mean_pool on the frozen clip embeddings: supervised, few-shot, (mean_pool) zero-shot."""
    backbone = s.backbone
    pool = s.train + s.test
    video = s.embed(backbone, pool)
    labels = s.labels(pool)
    query = list(range(len(s.train), len(pool)))
    at = {r.id: i for i, r in enumerate(pool)}
    text = T.class_embeddings(backbone, s.names)

    def score(support: list[int]) -> float:
        if variant == "linear_probe":
            return T._linear_probe(backbone.clip_vector(video), labels, support, query)
        return T._prompt_adapter(backbone, video, labels, support, query, text)

    out = {"supervised": {"top1": score(list(range(len(s.train))))},
           "fewshot": {f"top1_{k}shot": [score([at[r.id] for r in support_set(s.train, k, seed)]) for seed in seeds]
                       for k in shots}}
    if variant == "mean_pool":
        held_verbs = [v for v in s.verbs if v in s.held]
        out["zeroshot"] = {"top1": s.top1(backbone)}
        out["zeroshot_heldout"] = {"top1": s.top1(backbone, [r for r in s.test if r.verb in s.held], held_verbs)}
    return out


def flops(model) -> int:
    """Inference FLOPs of the alignment and the adapter per clip from cached features (the matrix products;
    attention by SDPA is not counted on the CPU, so its 4 N^2 w per attention is added by formula)."""
    heads = model.heads
    t, p = model.num_frames, heads.places.shape[0] - 1
    tokens = torch.randn(1, t, p, heads.temporal_conv.in_channels)
    pooled = torch.randn(1, t, model.embed_dim)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        heads.video(model.base, tokens, pooled)
    with torch.no_grad():
        n = t * heads.align(model.base, tokens, pooled).assign.shape[2]      # queries = keys = regions of all frames
    attention = heads.cfg.depth * 2 * 4 * n * n * heads.cfg.width       # self- and cross-attention per block
    return int(counter.get_total_flops()) + attention


def alt_numbers(s: Setup, variant: str, seeds: list[int], shots: tuple[int, ...], full: bool,
                supervised: bool = True) -> dict:
    """One ALT variant: few-shot; supervised (+ probes, explanations, cost at the first seed) and zero-shot
    held-out when ``full``; without ``supervised`` the explanations are those of the first few-shot model."""
    cfg = AltConfig(**ABLATIONS.get(variant, {}))
    out: dict = {"fewshot": {}}
    for k in shots:
        runs = []
        for seed in seeds:
            support = support_set(s.train, k, seed)
            epochs, batch = fewshot_training(len(support))
            folder = s.store / f"{variant}-k{k}-s{seed}"
            trained("alt", folder, cfg, seed, s.features(support), s.backbone, s.backbone_dir, epochs, batch)
            runs.append(s.top1(load_model(folder, backbone=s.backbone)))
        out["fewshot"][f"top1_{k}shot"] = runs
        logging.info("%s %d-shot: %s", variant, k, [round(r, 3) for r in runs])
    sup_seeds = seeds if full else seeds[:1]
    sup, explained, extra = [], [], {}
    for seed in sup_seeds:
        if supervised:
            folder = s.store / f"{variant}-s{seed}"
            summary = trained("alt", folder, cfg, seed, s.features(s.train), s.backbone, s.backbone_dir)
        else:
            folder = s.store / f"{variant}-k{shots[0]}-s{seed}"
            summary = read_json(folder / METHOD_FILE)["summary"]
        model = load_model(folder, backbone=s.backbone)
        if supervised:
            sup.append(s.top1(model))
        clips = embed_clips(model, s.test, s.world, s.test_features, with_reversed=False, progress=False)
        report = explanation_report(clips.records, clips.explanations)
        explained.append({k: report[k] for k in ("object_named", "motion_fits", "both")})
        if seed == sup_seeds[0]:
            extra["cost"] = {"flops_per_clip": flops(model), "train_seconds": summary["seconds"],
                             "parameters": sum(p.numel() for p in model.heads.parameters()),
                             "entities": summary["entities"]}
            extra["examples"] = dict(list(report["clips"].items())[:3])
            if full:
                extra["families"], extra["controls"] = probe_numbers(model, s.test, s.world, s.test_features)
    if sup:
        out["supervised"] = {"top1": sup}
    out["explanations"] = explained
    if full:
        seen = [r for r in s.train if r.verb not in s.held]
        held_verbs = [v for v in s.verbs if v in s.held]
        held_test = [r for r in s.test if r.verb in s.held]
        runs = []
        for seed in seeds:
            folder = s.store / f"{variant}-heldout-s{seed}"
            trained("alt", folder, cfg, seed, s.features(seen), s.backbone, s.backbone_dir)
            runs.append(s.top1(load_model(folder, backbone=s.backbone), held_test, held_verbs))
        out["zeroshot_heldout"] = {"top1": runs}
    return {"tasks": {k: v for k, v in out.items() if k != "explanations"}, "explanations": out["explanations"],
            **extra}


def summarise(raw: dict) -> dict:
    """Lists over seeds -> {"mean", "std", "n"}; everything else kept."""
    def walk(x):
        if isinstance(x, list) and x and isinstance(x[0], (int, float)):
            return aggregate([float(v) for v in x])
        if isinstance(x, list) and x and isinstance(x[0], dict):
            return aggregate(x)
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            return aggregate([float(x)])
        return x
    return {k: (v if k in ("examples",) else walk(v)) for k, v in raw.items()}


def markdown(result: dict, command: str) -> str:
    v = result["variants"]
    shots = result["shots"]
    lines = [f"# ALT on the Action World (`{command}`)", "",
             f"Test split, {result['test_clips']} clips, 30 verbs. Mean ± sample std over seeds (n in the JSON). "
             f"Few-shot: K train clips per verb, {FEWSHOT_STEPS} steps. Held-out verbs for zero-shot: "
             f"{', '.join(result['held_out_verbs'])} (only the heads are zero-shot: the backbone saw their captions).",
             "", "Explanations: shares of test clips whose top object entity is the clip's object, whose top motion "
             "entity is one the verb shows, and both. With the frozen region projection (every variant but `tuned`) "
             "they do not depend on training: they are the backbone's own dense alignment with the corpus.",
             "", "## Recognition", "",
             "| variant | supervised top-1 | " + " | ".join(f"{k}-shot top-1" for k in shots) +
             " | zero-shot held-out | explanations: object / motion / both |",
             "| --- | ---: | " + " | ".join("---:" for _ in shots) + " | ---: | --- |"]
    for name, r in v.items():
        t = r["tasks"]
        few = " | ".join(fmt(t["fewshot"].get(f"top1_{k}shot")) for k in shots)
        zs = t.get("zeroshot_heldout", {}).get("top1")
        ex = r.get("explanations")
        ex = " / ".join(fmt(ex[k]) for k in ("object_named", "motion_fits", "both")) if ex else "-"
        lines.append(f"| {name} | {fmt(t.get('supervised', {}).get('top1'))} | {few} | {fmt(zs)} | {ex} |")
    alt = v.get("alt", {})
    if "families" in alt:
        lines += ["", "## ActionBench, alt (supervised model, first seed)", "",
                  "| group | AA | VR | OR | AA last_frame | AA shuffled |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for group, f in alt["families"].items():
            c = alt["controls"]
            lines.append(f"| {group} | {fmt(f['action_antonym'])} | {fmt(f['video_reversal'])} | "
                         f"{fmt(f['object_replacement'])} | {fmt(c['last_frame'][group]['action_antonym'])} | "
                         f"{fmt(c['shuffled'][group]['action_antonym'])} |")
    if "cost" in alt:
        c = alt["cost"]
        lines += ["", f"Cost of alt: {c['flops_per_clip']['mean'] / 1e6:.2f} MFLOPs per clip from cached features "
                  f"(adapter and alignment), {int(c['parameters']['mean'])} trained parameters, "
                  f"{int(c['entities']['mean'])} entities, supervised training {c['train_seconds']['mean']:.0f} s."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a demo run folder (world/, backbone/, features/)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--shots", type=int, nargs="+", default=list(SHOTS))
    parser.add_argument("--ablation-shots", type=int, nargs="+", default=[4])
    parser.add_argument("--ablation-supervised", action="store_true",
                        help="also train each ablation on every train clip (first seed): about 70 s each on 2 cores")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="folder of alt.{json,md}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "actionkit"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))   # the 2-core budget

    start = time.time()
    s = Setup(Path(args.run))
    shots = tuple(args.shots)
    variants = {}
    for variant in args.variants:
        t0 = time.time()
        if variant in ("linear_probe", "mean_pool"):
            raw = {"tasks": anchor_numbers(s, variant, args.seeds, shots)}
        else:
            full = variant == "alt"
            raw = alt_numbers(s, variant, args.seeds, shots if full else tuple(args.ablation_shots), full,
                              supervised=full or args.ablation_supervised)
        variants[variant] = {**summarise(raw), "seconds": round(time.time() - t0, 1)}
        logging.info("%s done (%.0f s)", variant, time.time() - t0)
    result = {"variants": variants, "shots": list(shots), "ablation_shots": args.ablation_shots,
              "test_clips": len(s.test), "held_out_verbs": sorted(s.held), "fewshot_steps": FEWSHOT_STEPS,
              "seeds": args.seeds, "seconds": round(time.time() - start, 1), "threads": torch.get_num_threads(),
              "run": str(s.run)}
    command = command_line("alt", [("seeds", args.seeds, [0, 1, 2]), ("variants", args.variants, list(VARIANTS)),
                                   ("shots", args.shots, list(SHOTS)),
                                   ("ablation-shots", args.ablation_shots, [4])], None) + (
        " --ablation-supervised" if args.ablation_supervised else "")
    write_results(Path(args.out), "alt", result, markdown(result, command))


if __name__ == "__main__":
    main()
