"""Run the three ActionBench probes (Paxion) for a backbone over the clips of a manifest.

For each clip with caption c and video v:

- Action Antonym:      sim(v, c) > sim(v, antonym(c))
- Video Reversal:      sim(v, c) > sim(reverse(v), c)
- Object Replacement:  sim(v, c) > sim(v, c with the object swapped)   (control)

Similarities are the model's own (``VideoTextModel.paired_similarity``: cosine for a
backbone, max over latents for PAXION, ...). Clips stream through in batches; an
unreadable clip is skipped and listed, never fatal. Given a ``ClipFeatures`` (e.g. a feature
cache) the probes read frame features instead of decoding videos.

Clips whose record says ``pair_kind: "symmetric"`` (the clip played backwards is the same
verb, e.g. "moving right and back") are left out of Video Reversal. Results come per group
of clips too (``groups``): per verb ``family`` ("state", "dynamics") and, where the records
say it, per family split by ``order_only`` (a verb and its antonym show the same frames in
another order). ``controls`` (``probes.controls``) repeat everything on clips whose frames
were replaced (last frame only, first frame only, shuffled).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from actionkit.backbones.protocol import VideoTextModel
from actionkit.data.clips import ReadOptions, SkippedClip
from actionkit.data.manifest import ClipRecord
from actionkit.eval.explanations import explanation_report
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.embeddings import ClipEmbeddings, embed_clips_orders
from actionkit.probes.controls import CONTROLS
from actionkit.probes.metrics import PROBES, ProbeResult, probe_scores, summarise

log = logging.getLogger(__name__)


@dataclass
class ActionBenchResult:
    results: dict[str, ProbeResult]
    n_clips: int                                   # clips that were scored
    skipped: list[SkippedClip] = field(default_factory=list)
    groups: dict[str, dict[str, ProbeResult]] = field(default_factory=dict)    # family (/ order) -> probe -> result
    controls: dict[str, "ActionBenchResult"] = field(default_factory=dict)     # control name -> the same, controlled
    explanations: dict | None = None               # eval.explanations.explanation_report, if the model explains

    def to_dict(self) -> dict:
        return {name: self.results[name].to_dict() for name in PROBES}

    def group_dict(self, group: str) -> dict:
        return {name: self.groups[group][name].to_dict() for name in PROBES}


def clip_groups(records: list[ClipRecord]) -> dict[str, list[bool]]:
    """Named groups of clips from their records: ``FAMILY``, and ``FAMILY/order_only`` and
    ``FAMILY/not_order_only`` where that family's records say ``order_only``."""
    groups: dict[str, list[bool]] = {}
    for family in sorted({r.extra["family"] for r in records if "family" in r.extra}):
        member = [r.extra.get("family") == family for r in records]
        groups[family] = member
        if any("order_only" in r.extra for r, m in zip(records, member) if m):
            groups[f"{family}/order_only"] = [m and r.extra.get("order_only") is True for r, m in zip(records, member)]
            groups[f"{family}/not_order_only"] = [m and r.extra.get("order_only") is False
                                                  for r, m in zip(records, member)]
    return groups


@torch.no_grad()
def encode_texts(model: VideoTextModel, texts: list[str], batch_size: int = 256) -> dict[str, torch.Tensor]:
    """The model's text embedding of each distinct text, ``{text: [D]}``."""
    distinct = list(dict.fromkeys(texts))
    out: dict[str, torch.Tensor] = {}
    for i in range(0, len(distinct), batch_size):
        chunk = distinct[i:i + batch_size]
        for text, vec in zip(chunk, model.encode_text(chunk).pooled.float().cpu()):
            out[text] = vec
    return out


def score_actionbench(model: VideoTextModel, embedded: ClipEmbeddings, tie_tol: float = 1e-6) -> ActionBenchResult:
    """The three probes from clip representations already computed (``embedded.reversed`` needed),
    scored by the model's own ``paired_similarity``."""
    records = embedded.records
    if not records:
        return ActionBenchResult({name: summarise(torch.empty(0), []) for name in PROBES}, 0, embedded.skipped)
    text = encode_texts(model, [t for r in records for t in (r.caption, r.antonym_caption, r.object_replaced_caption)
                                if t])
    zero = torch.zeros_like(next(iter(text.values())))

    def stack(key: str) -> torch.Tensor:
        return torch.stack([text[getattr(r, key)] if getattr(r, key) else zero for r in records])

    caption, antonym, replaced = stack("caption"), stack("antonym_caption"), stack("object_replaced_caption")
    video, sim = embedded.video, model.paired_similarity
    scores = probe_scores(
        sim_caption=sim(video, caption),
        sim_antonym=sim(video, antonym),
        sim_reversed=sim(embedded.reversed, caption),
        sim_object_replaced=sim(video, replaced),
        tie_tol=tie_tol,
    )
    # A clip whose annotation has no antonym (or no replaced caption) is left out of that probe;
    # a time-symmetric clip (its reversal is the same verb) is left out of Video Reversal.
    has = {"action_antonym": torch.tensor([bool(r.antonym_caption) for r in records]),
           "video_reversal": torch.tensor([r.extra.get("pair_kind") != "symmetric" for r in records]),
           "object_replacement": torch.tensor([bool(r.object_replaced_caption) for r in records])}
    verbs = [r.verb for r in records]

    def summary(within: torch.Tensor) -> dict[str, ProbeResult]:
        out = {}
        for name in PROBES:
            keep = has[name] & within
            out[name] = summarise(scores[name][keep], [v for v, k in zip(verbs, keep.tolist()) if k])
        return out

    everything = torch.ones(len(records), dtype=torch.bool)
    groups = {name: summary(torch.tensor(mask)) for name, mask in clip_groups(records).items()}
    return ActionBenchResult(summary(everything), len(records), embedded.skipped, groups)


def run_actionbench(model: VideoTextModel, records: list[ClipRecord], root: Path | str, batch_size: int = 32,
                    workers: int = 2, progress: bool = True, tie_tol: float = 1e-6,
                    device: str | torch.device = "cpu", features: ClipFeatures | None = None,
                    read: ReadOptions = ReadOptions(), controls: tuple[str, ...] = ()) -> ActionBenchResult:
    """Embed and score every clip of ``records``: decoded from videos (paths relative to
    ``root``), or read from ``features`` when given (clips without features are skipped);
    then each of ``controls`` (names of ``probes.controls.CONTROLS``) on the same clips."""
    embedded = embed_clips_orders(model, records, root, control_orders(controls), features, with_reversed=True,
                                  batch_size=batch_size, workers=workers, progress=progress, device=device, read=read)
    if embedded["clip"].skipped:
        log.warning("%d of %d clips could not be read and were skipped", len(embedded["clip"].skipped), len(records))
    return score_with_controls(model, embedded, tie_tol)


def control_orders(controls: tuple[str, ...]) -> dict:
    """The frame orders to embed: the clip as it is (``"clip"``), then each named control."""
    return {"clip": None, **{name: CONTROLS[name] for name in controls}}


def score_with_controls(model: VideoTextModel, embedded: dict[str, ClipEmbeddings],
                        tie_tol: float = 1e-6) -> ActionBenchResult:
    """The probes on ``embedded["clip"]``, with every other key of ``embedded`` as a control."""
    result = score_actionbench(model, embedded["clip"], tie_tol)
    clips = embedded["clip"]
    if clips.explanations is not None:
        result.explanations = explanation_report(clips.records, clips.explanations)
    result.controls = {name: score_actionbench(model, e, tie_tol) for name, e in embedded.items() if name != "clip"}
    return result


def report_blocks(results: dict[str, ActionBenchResult]) -> dict:
    """``{"models", "controls", "families"}`` of a report, for the named models' results::

        "models":   {MODEL: {PROBE: {...}}}
        "controls": {CONTROL: {"models": {MODEL: {PROBE: {...}}}}}
        "families": {GROUP: {"models": {...}, "controls": {CONTROL: {"models": {...}}}}}
    """
    first = next(iter(results.values()))
    controls, groups = list(first.controls), list(first.groups)
    return {
        "models": {m: r.to_dict() for m, r in results.items()},
        "controls": {c: {"models": {m: r.controls[c].to_dict() for m, r in results.items()}} for c in controls},
        "families": {g: {"models": {m: r.group_dict(g) for m, r in results.items()},
                         "controls": {c: {"models": {m: r.controls[c].group_dict(g) for m, r in results.items()}}
                                      for c in controls}}
                     for g in groups},
    }


def model_block(result: ActionBenchResult) -> dict:
    """One model's probes in ``compare.json``: ``{"probes", "families", "controls"}``."""
    return {"probes": result.to_dict(),
            "families": {g: result.group_dict(g) for g in result.groups},
            "controls": {c: {"probes": r.to_dict(), "families": {g: r.group_dict(g) for g in r.groups}}
                         for c, r in result.controls.items()}}
