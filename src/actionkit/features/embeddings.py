"""A model's clip representations of a list of clips, computed once and read by every probe and task.

From cached frame features (``ClipFeatures``) when given, else by decoding the videos. With
``with_reversed`` the representation of each clip played backwards comes too: for models
that encode frames independently it is the frame features flipped on T (no second pass);
for others (X-CLIP) the reversed pixels are encoded again, which needs the videos.
``embed_clips_orders`` also gives, in the same pass, the representations of each clip with
its frames replaced by a frame order (a function of T giving frame indices): the controls
of ``probes.controls``. A model with ``explain(frame_tokens, frame_pooled)`` (ALT) has its
explanation of each clip (as it is) collected in the same pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from actionkit.backbones.protocol import VideoFeatures, VideoTextModel
from actionkit.data.clips import ReadOptions, SkippedClip, iter_clip_batches
from actionkit.data.manifest import ClipRecord
from actionkit.features.clip_features import ClipFeatures


@dataclass
class ClipEmbeddings:
    records: list[ClipRecord]               # the clips that could be embedded, in order
    video: torch.Tensor                     # [N, ...] the model's clip representation, on the CPU
    reversed: torch.Tensor | None = None    # [N, ...] of the same clips reversed in time
    skipped: list[SkippedClip] = field(default_factory=list)
    explanations: list[dict] | None = None  # per clip, the model's own explanation (``explain``), if it gives one

    def __len__(self) -> int:
        return len(self.records)

    def rows(self, wanted: list[ClipRecord]) -> torch.Tensor:
        """The video rows of ``wanted`` (each must be among ``records``)."""
        at = {r.id: i for i, r in enumerate(self.records)}
        return self.video[[at[r.id] for r in wanted]]

    def extended(self, other: "ClipEmbeddings") -> "ClipEmbeddings":
        """These clips followed by ``other``'s (their reversed videos are dropped)."""
        both = (None if self.explanations is None or other.explanations is None
                else self.explanations + other.explanations)
        return ClipEmbeddings(self.records + other.records, torch.cat([self.video, other.video]), None,
                              self.skipped + other.skipped, both)


def reversed_video(model: VideoTextModel, f: VideoFeatures, pixels: torch.Tensor | None = None) -> torch.Tensor:
    """The representation of the time-reversed clip: its frame features flipped on T when the
    model encodes frames independently, else (X-CLIP) the reversed pixels encoded again."""
    if model.frame_independent:
        return model.video_from_frames(f.frame_tokens.flip(1), f.frame_pooled.flip(1))
    if pixels is None:
        raise ValueError(f"{model.name}: frames are not encoded independently, so the reversed clip cannot be "
                         "made from cached frame features; use the videos")
    return model.encode_video(pixels.flip(1)).video


FrameOrder = Callable[[int], torch.Tensor]     # T -> frame indices [T]


def _orders(model: VideoTextModel, f: VideoFeatures, pixels: torch.Tensor | None,
            orders: dict[str, FrameOrder | None], with_reversed: bool) -> dict[str, tuple[torch.Tensor, torch.Tensor | None]]:
    """For each frame order (None: the clip as it is): (clip representation, reversed one), on the CPU."""
    out = {}
    for key, order in orders.items():
        g, p = f, pixels
        if order is not None:
            idx = order(f.frame_tokens.shape[1]).to(f.frame_tokens.device)
            tokens, pooled = f.frame_tokens[:, idx], f.frame_pooled[:, idx]
            if model.frame_independent:
                g = VideoFeatures(tokens, pooled, model.video_from_frames(tokens, pooled))
            elif pixels is None:
                raise ValueError(f"{model.name}: frames are not encoded independently, so a control cannot be made "
                                 "from cached frame features; use the videos")
            else:
                p = pixels[:, idx.to(pixels.device)]
                g = model.encode_video(p)
        out[key] = (g.video.float().cpu(), reversed_video(model, g, p).float().cpu() if with_reversed else None)
    return out


@torch.no_grad()
def embed_clips_orders(model: VideoTextModel, records: list[ClipRecord], root: Path | str,
                       orders: dict[str, FrameOrder | None], features: ClipFeatures | None = None,
                       with_reversed: bool = True, batch_size: int = 32, workers: int = 2, progress: bool = True,
                       device: str | torch.device = "cpu", read: ReadOptions = ReadOptions()
                       ) -> dict[str, ClipEmbeddings]:
    """``embed_clips`` for several frame orders at once (one decoding pass): ``{key: ClipEmbeddings}``,
    where an order maps T to the frame indices that replace the clip's (None: the clip as it is)."""
    parts: dict[str, list] = {key: [] for key in orders}
    kept: list[ClipRecord] = []
    skipped: list[SkippedClip] = []
    explain = getattr(model, "explain", None)
    explanations: list[dict] = []

    def add(f: VideoFeatures, pixels: torch.Tensor | None) -> None:
        for key, pair in _orders(model, f, pixels, orders, with_reversed).items():
            parts[key].append(pair)
        said = explain(f.frame_tokens, f.frame_pooled) if explain is not None else None
        if said is not None:
            explanations.extend(said)

    if features is not None:
        features = features.for_records(records)
        kept, skipped = features.records, features.skipped
        for _, tokens, pooled in features.batches(256, device):
            add(VideoFeatures(tokens, pooled, model.video_from_frames(tokens, pooled)), None)
    else:
        for idx, pixels, _ in iter_clip_batches(records, root, model.num_frames, transform=model.preprocess,
                                                batch_size=batch_size, workers=workers, desc="embed",
                                                progress=progress, skipped=skipped, read=read):
            pixels = pixels.to(device)
            add(model.encode_video(pixels), pixels)
            kept.extend(records[i] for i in idx.tolist())
    out = {}
    for key, pairs in parts.items():
        if not pairs:
            out[key] = ClipEmbeddings([], torch.empty(0), torch.empty(0) if with_reversed else None, skipped)
            continue
        said = explanations if explanations and orders[key] is None else None
        out[key] = ClipEmbeddings(list(kept), torch.cat([v for v, _ in pairs]),
                                  torch.cat([r for _, r in pairs]) if with_reversed else None, skipped, said)
    return out


def embed_clips(model: VideoTextModel, records: list[ClipRecord], root: Path | str,
                features: ClipFeatures | None = None, with_reversed: bool = True, batch_size: int = 32,
                workers: int = 2, progress: bool = True, device: str | torch.device = "cpu",
                read: ReadOptions = ReadOptions()) -> ClipEmbeddings:
    """Embed ``records`` (paths relative to ``root``), or read them from ``features``;
    unreadable or uncached clips are skipped and listed, never fatal."""
    return embed_clips_orders(model, records, root, {"clip": None}, features, with_reversed, batch_size, workers,
                              progress, device, read)["clip"]
