"""Run the three ActionBench probes (Paxion) for a backbone over the clips of a manifest.

For each clip with caption c and video v:

- Action Antonym:      sim(v, c) > sim(v, antonym(c))
- Video Reversal:      sim(v, c) > sim(reverse(v), c)
- Object Replacement:  sim(v, c) > sim(v, c with the object swapped)   (control)

Similarities are the model's own (``VideoTextModel.paired_similarity``: cosine for a
backbone, max over latents for PAXION, ...). Clips stream through in batches; an
unreadable clip is skipped and listed, never fatal. Given a ``ClipFeatures`` (e.g. a feature
cache) the probes read frame features instead of decoding videos.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from actionkit.backbones.protocol import VideoTextModel
from actionkit.data.clips import ReadOptions, SkippedClip
from actionkit.data.manifest import ClipRecord
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.embeddings import ClipEmbeddings, embed_clips
from actionkit.probes.metrics import PROBES, ProbeResult, probe_scores, summarise

log = logging.getLogger(__name__)


@dataclass
class ActionBenchResult:
    results: dict[str, ProbeResult]
    n_clips: int                                   # clips that were scored
    skipped: list[SkippedClip] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {name: self.results[name].to_dict() for name in PROBES}


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
    # A clip whose annotation has no antonym (or no replaced caption) is left out of that probe.
    has = {"action_antonym": [bool(r.antonym_caption) for r in records],
           "video_reversal": [True] * len(records),
           "object_replacement": [bool(r.object_replaced_caption) for r in records]}
    verbs = [r.verb for r in records]
    results = {name: summarise(scores[name][torch.tensor(has[name])], [v for v, h in zip(verbs, has[name]) if h])
               for name in PROBES}
    return ActionBenchResult(results, len(records), embedded.skipped)


def run_actionbench(model: VideoTextModel, records: list[ClipRecord], root: Path | str, batch_size: int = 32,
                    workers: int = 2, progress: bool = True, tie_tol: float = 1e-6,
                    device: str | torch.device = "cpu", features: ClipFeatures | None = None,
                    read: ReadOptions = ReadOptions()) -> ActionBenchResult:
    """Embed and score every clip of ``records``: decoded from videos (paths relative to
    ``root``), or read from ``features`` when given (clips without features are skipped)."""
    embedded = embed_clips(model, records, root, features, with_reversed=True, batch_size=batch_size,
                           workers=workers, progress=progress, device=device, read=read)
    if embedded.skipped:
        log.warning("%d of %d clips could not be read and were skipped", len(embedded.skipped), len(records))
    return score_actionbench(model, embedded, tie_tol)
