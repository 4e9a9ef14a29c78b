"""``compare``: several models through the three probes and every downstream task that fits the
data, on the same clips, in one run. Each model's clip representations (and those of the
reversed clips) are computed once and read by every probe and task.

``compare.json``::

    {"split": ..., "n_clips": ..., "skipped": ..., "wall_seconds": ...,
     "models": {NAME: {"probes": {"action_antonym": {"accuracy", "ci95", "n", "per_verb"},
                                  "video_reversal": ..., "object_replacement": ...},
                       "families": {GROUP: {PROBE: {...}}},
                       "controls": {CONTROL: {"probes": {PROBE: {...}}, "families": {GROUP: {PROBE: {...}}}}},
                       "tasks": {TASK: {METRIC: value}}}},
     "skipped_tasks": {TASK: reason}}

The frozen backbone is the model named ``backbone``. ``families`` are the groups of
``probes.actionbench.clip_groups`` (verb family, and order-only or not), ``controls`` the
frame-replaced clips of ``probes.controls``. Later keys are added beside these; these are
never renamed. ``compare.md`` holds the tables, and
``compare_probes.png`` the probe bars.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import torch

from actionkit.backbones.protocol import VideoTextModel
from actionkit.data.clips import ReadOptions
from actionkit.data.manifest import ClipRecord
from actionkit.eval.explanations import explanations_markdown
from actionkit.eval.run import TASKS, evaluate
from actionkit.eval.sets import TaskSets
from actionkit.eval.tasks import SHOTS
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.embeddings import embed_clips_orders
from actionkit.probes.actionbench import control_orders, model_block, score_with_controls
from actionkit.probes.controls import CONTROLS
from actionkit.report import (controls_markdown, downstream_table_markdown, probe_panels_chart, probe_table_markdown,
                              write_json_atomic, write_text_atomic)

log = logging.getLogger(__name__)


def fitting_tasks(clips: list[ClipRecord], sets: TaskSets, shots: tuple[int, ...] = SHOTS
                  ) -> tuple[tuple[str, ...], tuple[int, ...], dict[str, str]]:
    """(the tasks these clips support, the few-shot K values they support, {skipped task: reason}).

    Recognition needs 2 classes in every class list; K-shot needs, in every list, 2 classes
    with more than K clips (K support + at least one query)."""
    skipped: dict[str, str] = {}
    counts = Counter(r.verb for r in clips)
    per_list = [[counts[c] for c in (classes if classes is not None else counts)] for classes in sets.class_lists]
    fewest = min(sum(n > 0 for n in per_class) for per_class in per_list)
    if fewest < 2:
        for task in ("zeroshot", "fewshot", "video2action"):
            skipped[task] = f"needs at least 2 classes with clips, a class list has {fewest}"
    fitting_shots = tuple(k for k in shots if all(sum(n > k for n in per_class) >= 2 for per_class in per_list))
    if "fewshot" not in skipped and not fitting_shots:
        skipped["fewshot"] = f"no K of {list(shots)} has 2 classes with more than K clips"
    if sets.questions is None:
        skipped["mcqa"] = "no questions (--questions FILE outside the Action World)"
    if sets.counterfactuals is None:
        skipped["rcad"] = "no counterfactual sets (--counterfactuals FILE outside the Action World)"
    return tuple(t for t in TASKS if t not in skipped), fitting_shots, skipped


@torch.no_grad()
def compare_models(models: dict[str, VideoTextModel], records: list[ClipRecord], root: Path | str, sets: TaskSets,
                   features: ClipFeatures | None = None, shots: tuple[int, ...] = SHOTS,
                   fewshot_seeds: tuple[int, ...] = (0, 1, 2), workers: int = 2, progress: bool = True,
                   device: str | torch.device = "cpu", read: ReadOptions = ReadOptions(),
                   controls: tuple[str, ...] = tuple(CONTROLS)) -> dict:
    """The ``compare.json`` dict (without wall time) for ``models`` on ``records``."""
    out: dict = {"models": {}}
    tasks: tuple[str, ...] | None = None
    for name, model in models.items():
        log.info("compare: %s", name)
        by_order = embed_clips_orders(model, records, root, control_orders(controls), features, with_reversed=True,
                                      workers=workers, progress=progress, device=device, read=read)
        embedded = by_order["clip"]
        if not len(embedded):
            raise RuntimeError(f"{name}: none of the {len(records)} clips could be embedded "
                               f"(first: {embedded.skipped[0].reason if embedded.skipped else 'no clips'})")
        if tasks is None:       # decided on the clips that could be read (the same for every model)
            tasks, shots, out["skipped_tasks"] = fitting_tasks(embedded.records, sets, shots)
        probes = score_with_controls(model, by_order)
        result = evaluate(model, records, root, tasks, sets, features, progress=progress, workers=workers,
                          device=device, read=read, shots=shots, fewshot_seeds=fewshot_seeds, embedded=embedded)
        out["models"][name] = {**model_block(probes), "tasks": result.metrics}
        if probes.explanations is not None:
            out["models"][name]["explanations"] = probes.explanations
        out.update(n_clips=len(embedded), skipped=len(result.skipped))
    return out


def report_view(result: dict) -> dict:
    """compare.json's per-model probe blocks as a report's ``models`` / ``controls`` / ``families``."""
    models = result["models"]
    first = next(iter(models.values()))
    controls, groups = list(first.get("controls", {})), list(first.get("families", {}))
    return {
        "models": {n: m["probes"] for n, m in models.items()},
        "controls": {c: {"models": {n: m["controls"][c]["probes"] for n, m in models.items()}} for c in controls},
        "families": {g: {"models": {n: m["families"][g] for n, m in models.items()},
                         "controls": {c: {"models": {n: m["controls"][c]["families"][g] for n, m in models.items()}}
                                      for c in controls}} for g in groups},
    }


def write_compare(out_dir: Path | str, result: dict) -> None:
    """``compare.json``, ``compare.md`` and ``compare_probes.png`` into ``out_dir``."""
    out_dir = Path(out_dir)
    write_json_atomic(out_dir / "compare.json", result)
    view = report_view(result)
    probes = view["models"]
    lines = [f"# Comparison on split {result.get('split', '?')} ({result['n_clips']} clips, "
             f"{result['skipped']} skipped)", "", "## ActionBench probes (chance 0.50)", "",
             probe_table_markdown(probes), "## Families and controls", "", controls_markdown(view),
             "## Downstream tasks", "",
             downstream_table_markdown({name: m["tasks"] for name, m in result["models"].items()})]
    if result["skipped_tasks"]:
        lines += ["", "Tasks left out:"] + [f"- {t}: {why}" for t, why in result["skipped_tasks"].items()]
    explained = {name: m["explanations"] for name, m in result["models"].items() if "explanations" in m}
    if explained:
        lines += ["", "## Explanations", "", explanations_markdown(explained)]
    write_text_atomic(out_dir / "compare.md", "\n".join(lines) + "\n")
    probe_panels_chart(view, out_dir / "compare_probes.png")

