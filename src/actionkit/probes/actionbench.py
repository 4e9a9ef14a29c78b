"""Run the three ActionBench probes (Paxion) for a backbone over the clips of a manifest.

For each clip with caption c and video v:

- Action Antonym:      sim(v, c) > sim(v, antonym(c))
- Video Reversal:      sim(v, c) > sim(reverse(v), c)
- Object Replacement:  sim(v, c) > sim(v, c with the object swapped)   (control)

Similarities are cosines of the backbone's ``video`` and text ``pooled`` embeddings (or of
any model that answers the backbone protocol). Clips stream through in batches; an
unreadable clip is skipped and listed, never fatal. Given a ``ClipFeatures`` (e.g. a feature
cache) the probes read frame features instead of decoding videos.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from actionkit.backbones.protocol import Backbone, VideoFeatures, paired_similarity
from actionkit.data.clips import ReadOptions, SkippedClip, iter_clip_batches
from actionkit.data.manifest import ClipRecord
from actionkit.features.clip_features import ClipFeatures
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
def encode_texts(model: Backbone, texts: list[str], batch_size: int = 256) -> dict[str, torch.Tensor]:
    """Pooled embedding of each distinct text, ``{text: [D]}``."""
    distinct = list(dict.fromkeys(texts))
    out: dict[str, torch.Tensor] = {}
    for i in range(0, len(distinct), batch_size):
        chunk = distinct[i:i + batch_size]
        for text, vec in zip(chunk, model.encode_text(chunk).pooled.float().cpu()):
            out[text] = vec
    return out


def reversed_video(model: Backbone, f: VideoFeatures, pixels: torch.Tensor | None = None) -> torch.Tensor:
    """The clip embedding of the time-reversed clip: its frame features flipped on T when the
    model encodes frames independently, else (X-CLIP) the reversed pixels encoded again."""
    if model.frame_independent:
        return model.video_from_frames(f.frame_tokens.flip(1), f.frame_pooled.flip(1))
    if pixels is None:
        raise ValueError(f"{model.name}: frames are not encoded independently, so the reversed clip cannot be "
                         "made from cached frame features; probe it from the videos")
    return model.encode_video(pixels.flip(1)).video


@torch.no_grad()
def encode_clips(model: Backbone, records: list[ClipRecord], root: Path | str, batch_size: int = 32,
                 workers: int = 2, progress: bool = True, skipped: list[SkippedClip] | None = None,
                 device: str | torch.device = "cpu", read: ReadOptions = ReadOptions(),
                 with_reversed: bool = True) -> tuple[list[int], torch.Tensor, torch.Tensor | None]:
    """Clip embeddings of the readable clips and (``with_reversed``) of the same clips reversed in time.

    Returns (indices into ``records``, video [N, (K,) D], reversed video [N, (K,) D] or None).
    """
    indices, videos, reversed_videos = [], [], []
    batches = iter_clip_batches(records, root, model.num_frames, transform=model.preprocess,
                                batch_size=batch_size, workers=workers, desc="probe",
                                progress=progress, skipped=skipped, read=read)
    for idx, pixels, _ in batches:
        pixels = pixels.to(device)
        f = model.encode_video(pixels)
        videos.append(f.video.float().cpu())
        if with_reversed:
            reversed_videos.append(reversed_video(model, f, pixels).float().cpu())
        indices.extend(idx.tolist())
    if not indices:
        return [], torch.empty(0), torch.empty(0) if with_reversed else None
    return indices, torch.cat(videos), torch.cat(reversed_videos) if with_reversed else None


@torch.no_grad()
def encode_features(model: Backbone, features: ClipFeatures, batch_size: int = 256,
                    device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Clip embeddings of cached frame features and of the same clips reversed (frames flipped on T)."""
    videos, reversed_videos = [], []
    for _, tokens, pooled in features.batches(batch_size, device):
        video = model.video_from_frames(tokens, pooled)
        videos.append(video.float().cpu())
        reversed_videos.append(reversed_video(model, VideoFeatures(tokens, pooled, video)).float().cpu())
    if not videos:
        return torch.empty(0), torch.empty(0)
    return torch.cat(videos), torch.cat(reversed_videos)


def score_actionbench(records: list[ClipRecord], video: torch.Tensor, video_reversed: torch.Tensor,
                      text: dict[str, torch.Tensor], tie_tol: float = 1e-6) -> dict[str, ProbeResult]:
    """The three probes from clip embeddings ``[N, D]`` or sets ``[N, K, D]`` (aligned with ``records``)."""
    if not records:
        return {name: summarise(torch.empty(0), []) for name in PROBES}
    zero = torch.zeros_like(next(iter(text.values())))

    def stack(key: str) -> torch.Tensor:
        return torch.stack([text[getattr(r, key)] if getattr(r, key) else zero for r in records])

    caption, antonym, replaced = stack("caption"), stack("antonym_caption"), stack("object_replaced_caption")
    scores = probe_scores(
        sim_caption=paired_similarity(video, caption),
        sim_antonym=paired_similarity(video, antonym),
        sim_reversed=paired_similarity(video_reversed, caption),
        sim_object_replaced=paired_similarity(video, replaced),
        tie_tol=tie_tol,
    )
    # A clip whose annotation has no antonym (or no replaced caption) is left out of that probe.
    has = {"action_antonym": [bool(r.antonym_caption) for r in records],
           "video_reversal": [True] * len(records),
           "object_replacement": [bool(r.object_replaced_caption) for r in records]}
    verbs = [r.verb for r in records]
    return {name: summarise(scores[name][torch.tensor(has[name])], [v for v, h in zip(verbs, has[name]) if h])
            for name in PROBES}


def run_actionbench(model: Backbone, records: list[ClipRecord], root: Path | str, batch_size: int = 32,
                    workers: int = 2, progress: bool = True, tie_tol: float = 1e-6,
                    device: str | torch.device = "cpu", features: ClipFeatures | None = None,
                    read: ReadOptions = ReadOptions()) -> ActionBenchResult:
    """Embed and score every clip of ``records``: decoded from videos (paths relative to
    ``root``), or read from ``features`` when given (clips without features are skipped)."""
    skipped: list[SkippedClip] = []
    if features is None:
        indices, video, video_reversed = encode_clips(model, records, root, batch_size, workers, progress,
                                                      skipped, device, read)
        scored = [records[i] for i in indices]
    else:
        features = features.for_records(records)
        video, video_reversed = encode_features(model, features, device=device)
        scored, skipped = features.records, features.skipped
    texts = [t for r in scored for t in (r.caption, r.antonym_caption, r.object_replaced_caption) if t]
    text = encode_texts(model, texts)
    results = score_actionbench(scored, video, video_reversed, text, tie_tol)
    if skipped:
        log.warning("%d of %d clips could not be read and were skipped", len(skipped), len(records))
    return ActionBenchResult(results=results, n_clips=len(scored), skipped=skipped)
