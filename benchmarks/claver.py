"""CLAVER's attention masks against each other and two anchors, on one Action World's cached features.

    python benchmarks/claver.py --run runs/demo [--seeds 0 1 2] [--variants kmt mit ...]

Uses the run's world, backbone and feature cache (made by ``actionkit demo``). Variants:
``kmt``, ``kmct``, ``joint``, ``spatial``, ``temporal`` (CLAVER's temporal transformer with
each mask), ``mit`` (X-CLIP's transformer over pooled frames) and ``mean_pool`` (the frozen
backbone). For every trained variant and seed, two models are trained with the method's
defaults (``actionkit train claver``): one on every train clip, one without the verbs of
``HELD_OUT_PAIRS``. Measured on the test split:

- the three ActionBench probes per family (and order-only group) with the controls;
- ``supervised``: top-1 over the 30 verbs (the model trained on all of them);
- ``zeroshot_heldout``: top-1 among the held-out verbs only, by the model that never trained
  on them. The frozen backbone under every variant (and its text projection) was trained on
  the captions of every verb, held-out ones included: only the CLAVER/MIT heads are zero-shot;
  ``mean_pool``'s number is not a zero-shot number at all;
- ``fewshot``: K-shot on the held-out verbs (linear probe and prompt adapter, 3 episodes);
- cost: keys each query attends to, training seconds (at most 2 CPU threads), inference
  FLOPs per clip (``torch.utils.flop_counter`` for the matrix products, which does not count
  ``scaled_dot_product_attention`` on the CPU, plus the attention's 4·N²·w per block by
  formula: the masks are applied to a dense attention, so every mask costs the same), trained
  parameters.

Prompt ablation: the ``kmt`` held-out model trained and scored with class names only /
+ templates / + descriptions (``--prompts``), zero-shot top-1 on the held-out verbs.

Trained models are kept in RUN/claver-bench/<variant>[-heldout]-s<seed> and reused when their
``method.json`` matches the config asked for, so a run can be stopped and continued, and more
seeds added later. Writes benchmarks/results/claver.{json,md} (``--out`` to change):
``{"variants": {NAME: {"families": {GROUP: {PROBE: {"mean", "std"}}}, "controls": {CONTROL:
{GROUP: {PROBE: {...}}}}, "tasks": {TASK: {METRIC: {...}}}, "cost": {...}, "seeds": [...]}},
"prompt_ablation": {PROMPTS: {"top1": {...}}}}``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import logging
import statistics
import time
from dataclasses import asdict
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from actionkit.backbones.world import WorldBackbone
from actionkit.checkpoint import read_json
from actionkit.data.manifest import read_manifest
from actionkit.eval import tasks as T
from actionkit.eval.run import class_setup
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.embeddings import embed_clips
from actionkit.methods import METHODS, load_model
from actionkit.methods.checkpoint import METHOD_FILE, base_reference
from actionkit.methods.claver.masks import attended_keys, kronecker_mask
from actionkit.methods.claver.method import ClaverConfig
from actionkit.methods.training import train_method
from actionkit.probes.actionbench import run_actionbench
from actionkit.probes.controls import CONTROLS
from actionkit.probes.metrics import PROBES
from actionkit.report import write_json_atomic, write_text_atomic
from actionkit.tasksets import TaskFiles, task_sets
from actionkit.world.vocabulary import PAIRS_BY_KEY

VARIANTS: dict[str, dict | None] = {
    "mean_pool": None,
    "kmt": {"mask": "kmt"},
    "kmct": {"mask": "kmct"},
    "joint": {"mask": "joint"},
    "spatial": {"mask": "spatial"},
    "temporal": {"mask": "temporal"},
    "mit": {"temporal": "mit"},
}
PROMPTS = ("names", "templates", "descriptions")
HELD_OUT_PAIRS = ("open_close", "orbit")     # one state pair, one order-only dynamics pair
SHOTS = (2, 4, 8, 16)


def mean_std(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values)}          # sample standard deviation over seeds


def trained(method_name: str, folder: Path, cfg, seed: int, features: ClipFeatures, backbone, backbone_dir: Path,
            epochs: int | None = None, batch_size: int | None = None) -> dict:
    """Train (or reuse) a method with ``cfg`` and its default training at ``seed`` on ``features`` (``epochs``,
    ``batch_size``: other than the defaults); its summary. A folder holding another config, or a run cut short, is
    trained again from scratch."""
    method = METHODS[method_name]
    train = method.train_defaults
    train = type(train)(**{**asdict(train), "seed": seed, "epochs": epochs or train.epochs,
                           "batch_size": batch_size or train.batch_size})
    meta = folder / METHOD_FILE
    if meta.is_file():
        saved = read_json(meta)
        if saved["config"] == json.loads(json.dumps(asdict(cfg))) and saved["train"] == asdict(train):
            return saved["summary"]
        logging.warning("%s holds another config: training again", folder)
    if folder.exists():
        shutil.rmtree(folder)      # another config, or a run cut short: start over (seconds stay whole)
    return train_method(method, backbone, base_reference("world", backbone_dir), features, folder, cfg, train,
                        progress=False)


def probe_numbers(model, test, world, features) -> tuple[dict, dict]:
    """(families: {group: {probe: accuracy}}, controls: {control: {group: {probe: accuracy}}}); groups
    include "all"."""
    result = run_actionbench(model, test, world, features=features, progress=False, controls=tuple(CONTROLS))

    def accuracy(result):
        return result.accuracy if result.n else None          # a probe with no clip in the group: n/a

    def groups(r) -> dict:
        out = {"all": {p: accuracy(r.results[p]) for p in PROBES}}
        out.update({g: {p: accuracy(r.groups[g][p]) for p in PROBES} for g in r.groups})
        return out

    return groups(result), {c: groups(r) for c, r in result.controls.items()}


def recognition_setup(model, records, world, features) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(clip representations, labels, class names as prompted) of ``records``, every class they hold."""
    clips = embed_clips(model, records, world, features, with_reversed=False, progress=False)
    kept, labels, names = class_setup(clips.records, None, task_sets(records, TaskFiles(), ("zeroshot",)))
    return clips.rows(kept), labels, names


def task_numbers(model, heldout_model, test, held_test, world, features) -> dict:
    supervised = T.zero_shot(model, *recognition_setup(model, test, world, features))
    held = recognition_setup(heldout_model, held_test, world, features)
    zeroshot = T.zero_shot(heldout_model, *held)
    fewshot = T.few_shot(heldout_model, *held, shots=SHOTS)
    return {"supervised": {"top1": supervised["top1"], "mean_class": supervised["mean_class"]},
            "zeroshot_heldout": {"top1": zeroshot["top1"], "mean_class": zeroshot["mean_class"]},
            "fewshot": {k: v for k, v in fewshot.items() if not k.endswith("_std")}}


def cost(model, variant: str, summary: dict | None) -> dict:
    """Keys per query, FLOPs per clip (inference, from cached features), trained parameters, seconds."""
    heads = getattr(model, "heads", None)
    out: dict = {"train_seconds": summary["seconds"] if summary else 0.0}
    if heads is None:
        return {**out, "keys_per_query": None, "flops_per_clip": 0, "parameters": 0}
    shape = heads.temporal.shape
    t, p = model.num_frames, shape.num_patches
    if variant == "mit":
        keys, tokens_in, width = float(t), t, shape.embed_dim
    else:
        keys = float(attended_keys(kronecker_mask(shape.mask, t, 1 + p)).float().mean())
        tokens_in, width = t * (1 + p), shape.width
    attention = shape.depth * 4 * tokens_in ** 2 * width        # QK^T and AV, dense, per block
    tokens = torch.zeros(1, t, p, heads.temporal.shape.token_dim)
    pooled = torch.zeros(1, t, model.embed_dim)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        heads.video(model.base, tokens, pooled)
    return {**out, "keys_per_query": keys, "flops_per_clip": int(counter.get_total_flops()) + attention,
            "attention_flops_per_clip": attention, "parameters": sum(q.numel() for q in heads.parameters())}


def aggregate(runs: list[dict]) -> dict:
    """Per-seed nested dicts of numbers -> the same nesting with {"mean", "std", "n"} leaves."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: aggregate([r[k] for r in runs]) for k in first}
    if first is None:
        return None
    return mean_std([float(r) for r in runs])


def fmt(x: dict | None, digits: int = 3) -> str:
    if not x:
        return "-"
    return f"{x['mean']:.{digits}f} ± {x['std']:.{digits}f}" if x["n"] > 1 else f"{x['mean']:.{digits}f}"


def command_line(script: str, flags: list[tuple[str, list, list]], epochs: int | None) -> str:
    """The command that reproduces a run: ``flags`` are (name, value, default); defaults are left out."""
    return f"python benchmarks/{script}.py --run RUN" + "".join(
        f" --{flag} {' '.join(map(str, value))}" for flag, value, default in flags if value != default) + (
        f" --epochs {epochs}" if epochs else "")


def write_results(out: Path, name: str, result: dict, text: str) -> None:
    """``out/NAME.json`` and ``out/NAME.md`` (atomically); the table is printed too."""
    write_json_atomic(out / f"{name}.json", result)
    write_text_atomic(out / f"{name}.md", text)
    print(text)
    print(f"written: {out / f'{name}.json'}, {out / f'{name}.md'} ({result['seconds']:.0f} s)")


def markdown(result: dict, command: str) -> str:
    v = result["variants"]
    lines = [f"# CLAVER masks and anchors on the Action World (`{command}`)", "",
             f"Test split, {result['test_clips']} clips; held-out verbs for zero-/few-shot: "
             f"{', '.join(result['held_out_verbs'])} (the frozen backbone under every variant was trained on "
             "their captions: only the heads are zero-shot). Mean ± sample std over seeds (n in the JSON). "
             f"Interpretive descriptions: {result['descriptions_source']}.", "",
             "## ActionBench (Action Antonym / Video Reversal / Object Replacement)", ""]
    groups = [g for g in next(iter(v.values()))["families"]]
    for group in groups:
        lines += [f"### {group}", "", "| variant | seeds | AA | VR | OR | AA last_frame | AA shuffled |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name, r in v.items():
            f, c = r["families"][group], r["controls"]
            lines.append(f"| {name} | {len(r['seeds']) or 'frozen'} | {fmt(f['action_antonym'])} | {fmt(f['video_reversal'])} | "
                         f"{fmt(f['object_replacement'])} | {fmt(c['last_frame'][group]['action_antonym'])} | "
                         f"{fmt(c['shuffled'][group]['action_antonym'])} |")
        lines.append("")
    lines += ["## Tasks and cost", "",
              "| variant | supervised top-1 | zero-shot held-out top-1 | few-shot linear K=2/4/8/16 | "
              "keys/query | GFLOPs/clip | params | train s |",
              "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for name, r in v.items():
        t, c = r["tasks"], r["cost"]
        few = " / ".join(f"{t['fewshot'][f'linear_{k}shot']['mean']:.2f}" for k in SHOTS)
        keys = "-" if c["keys_per_query"] is None else f"{c['keys_per_query']['mean']:.1f}"
        lines.append(f"| {name} | {fmt(t['supervised']['top1'])} | {fmt(t['zeroshot_heldout']['top1'])} | {few} | "
                     f"{keys} | {c['flops_per_clip']['mean'] / 1e9:.3f} | {int(c['parameters']['mean'])} | "
                     f"{c['train_seconds']['mean']:.0f} |")
    if result.get("prompt_ablation"):
        lines += ["", "## Prompt ablation (kmt, zero-shot top-1 among the held-out verbs)", "",
                  "| prompts | top-1 | mean-class |", "| --- | ---: | ---: |"]
        for prompts, r in result["prompt_ablation"].items():
            lines.append(f"| {prompts} | {fmt(r['top1'])} | {fmt(r['mean_class'])} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a demo run folder (world/, backbone/, features/)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--prompts", nargs="*", default=list(PROMPTS), choices=PROMPTS,
                        help="prompt sets of the ablation (none: skip it)")
    parser.add_argument("--epochs", type=int, help="override the method's default epochs (a smoke run only: "
                        "the numbers then are not the defaults'")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="folder of claver.{json,md}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "actionkit"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))   # the 2-core budget of the issue

    start = time.time()
    run = Path(args.run)
    world, cache, backbone_dir = run / "world", run / "features", run / "backbone"
    store = run / ("claver-bench" if args.epochs is None else f"claver-bench-e{args.epochs}")
    backbone = WorldBackbone.load(backbone_dir)
    records = read_manifest(world / "manifest.jsonl")
    train = [r for r in records if r.split == "train"]
    test = [r for r in records if r.split == "test"]
    held = {v for key in HELD_OUT_PAIRS for v in (PAIRS_BY_KEY[key].forward, PAIRS_BY_KEY[key].backward)}
    train_seen = [r for r in train if r.verb not in held]
    held_test = [r for r in test if r.verb in held]
    test_features = ClipFeatures.from_cache(cache, test, backbone)

    def model_pair(variant: str, seed: int, prompts: str = "descriptions"):
        if VARIANTS[variant] is None:
            return backbone, backbone, None
        cfg = ClaverConfig(**VARIANTS[variant], prompts=prompts)
        suffix = "" if prompts == "descriptions" else f"-{prompts}"
        main_dir, held_dir = store / f"{variant}{suffix}-s{seed}", store / f"{variant}{suffix}-heldout-s{seed}"
        summary = trained("claver", main_dir, cfg, seed, ClipFeatures.from_cache(cache, train, backbone), backbone,
                          backbone_dir, args.epochs) \
            if not suffix else None
        trained("claver", held_dir, cfg, seed, ClipFeatures.from_cache(cache, train_seen, backbone), backbone,
                backbone_dir, args.epochs)
        main_model = load_model(main_dir, backbone=backbone) if not suffix else None
        return main_model, load_model(held_dir, backbone=backbone), summary

    variants: dict[str, dict] = {}
    for variant in args.variants:
        runs, source = [], None
        for seed in (args.seeds if VARIANTS[variant] is not None else args.seeds[:1]):
            t0 = time.time()
            model, held_model, summary = model_pair(variant, seed)
            source = getattr(getattr(model, "heads", None), "bank", None)
            families, controls = probe_numbers(model, test, world, test_features)
            runs.append({"families": families, "controls": controls,
                         "tasks": task_numbers(model, held_model, test, held_test, world, test_features),
                         "cost": cost(model, variant, summary)})
            logging.info("%s seed %d: dynamics AA %.3f VR %.3f (%.0f s)", variant, seed,
                         families["dynamics"]["action_antonym"], families["dynamics"]["video_reversal"],
                         time.time() - t0)
        variants[variant] = {**aggregate(runs), "seeds": args.seeds if VARIANTS[variant] is not None else [],
                             "descriptions_source": None if source is None else source.source}

    ablation = {}
    for prompts in args.prompts:
        runs = []
        for seed in args.seeds:
            _, held_model, _ = model_pair("kmt", seed, prompts)
            z = T.zero_shot(held_model, *recognition_setup(held_model, held_test, world, test_features))
            runs.append({"top1": z["top1"], "mean_class": z["mean_class"]})
        ablation[prompts] = aggregate(runs)

    sources = {v["descriptions_source"] for v in variants.values() if v["descriptions_source"]}
    result = {"variants": variants, "prompt_ablation": ablation, "test_clips": len(test),
              "descriptions_source": ", ".join(sorted(sources)) or "none (no CLAVER variant run)",
              "held_out_verbs": sorted(held), "seconds": round(time.time() - start, 1),
              "threads": torch.get_num_threads(), "run": str(run)}
    command = command_line("claver", [("seeds", args.seeds, [0, 1, 2]), ("variants", args.variants, list(VARIANTS)),
                                       ("prompts", args.prompts, list(PROMPTS))], args.epochs)
    write_results(Path(args.out), "claver", result, markdown(result, command))


if __name__ == "__main__":
    main()
