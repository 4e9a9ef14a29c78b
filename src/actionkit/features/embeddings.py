"""A model's clip representations of a list of clips, computed once and read by every probe and task.

From cached frame features (``ClipFeatures``) when given, else by decoding the videos. With
``with_reversed`` the representation of each clip played backwards comes too: for models
that encode frames independently it is the frame features flipped on T (no second pass);
for others (X-CLIP) the reversed pixels are encoded again, which needs the videos.
"""

from __future__ import annotations

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

    def __len__(self) -> int:
        return len(self.records)

    def rows(self, wanted: list[ClipRecord]) -> torch.Tensor:
        """The video rows of ``wanted`` (each must be among ``records``)."""
        at = {r.id: i for i, r in enumerate(self.records)}
        return self.video[[at[r.id] for r in wanted]]

    def extended(self, other: "ClipEmbeddings") -> "ClipEmbeddings":
        """These clips followed by ``other``'s (their reversed videos are dropped)."""
        return ClipEmbeddings(self.records + other.records, torch.cat([self.video, other.video]), None,
                              self.skipped + other.skipped)


def reversed_video(model: VideoTextModel, f: VideoFeatures, pixels: torch.Tensor | None = None) -> torch.Tensor:
    """The representation of the time-reversed clip: its frame features flipped on T when the
    model encodes frames independently, else (X-CLIP) the reversed pixels encoded again."""
    if model.frame_independent:
        return model.video_from_frames(f.frame_tokens.flip(1), f.frame_pooled.flip(1))
    if pixels is None:
        raise ValueError(f"{model.name}: frames are not encoded independently, so the reversed clip cannot be "
                         "made from cached frame features; use the videos")
    return model.encode_video(pixels.flip(1)).video


@torch.no_grad()
def embed_clips(model: VideoTextModel, records: list[ClipRecord], root: Path | str,
                features: ClipFeatures | None = None, with_reversed: bool = True, batch_size: int = 32,
                workers: int = 2, progress: bool = True, device: str | torch.device = "cpu",
                read: ReadOptions = ReadOptions()) -> ClipEmbeddings:
    """Embed ``records`` (paths relative to ``root``), or read them from ``features``;
    unreadable or uncached clips are skipped and listed, never fatal."""
    if features is not None:
        features = features.for_records(records)
        videos, reversed_videos = [], []
        for _, tokens, pooled in features.batches(256, device):
            video = model.video_from_frames(tokens, pooled)
            videos.append(video.float().cpu())
            if with_reversed:
                reversed_videos.append(reversed_video(model, VideoFeatures(tokens, pooled, video)).float().cpu())
        return _embeddings(features.records, videos, reversed_videos if with_reversed else None, features.skipped)
    skipped: list[SkippedClip] = []
    kept, videos, reversed_videos = [], [], []
    for idx, pixels, _ in iter_clip_batches(records, root, model.num_frames, transform=model.preprocess,
                                            batch_size=batch_size, workers=workers, desc="embed",
                                            progress=progress, skipped=skipped, read=read):
        pixels = pixels.to(device)
        f = model.encode_video(pixels)
        videos.append(f.video.float().cpu())
        if with_reversed:
            reversed_videos.append(reversed_video(model, f, pixels).float().cpu())
        kept.extend(records[i] for i in idx.tolist())
    return _embeddings(kept, videos, reversed_videos if with_reversed else None, skipped)


def _embeddings(records: list[ClipRecord], videos: list[torch.Tensor], reversed_videos: list[torch.Tensor] | None,
                skipped: list[SkippedClip]) -> ClipEmbeddings:
    if not videos:
        return ClipEmbeddings([], torch.empty(0), None if reversed_videos is None else torch.empty(0), skipped)
    return ClipEmbeddings(records, torch.cat(videos), None if reversed_videos is None else torch.cat(reversed_videos),
                          skipped)
