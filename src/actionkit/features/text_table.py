"""A frozen model's text features of a finite set of texts, computed once for a training run."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from actionkit.backbones.protocol import TextFeatures, VideoTextModel


@dataclass
class TextTable:
    """Row i holds ``texts[i]``: token features, mask and pooled embedding, on the CPU."""

    texts: list[str]
    tokens: torch.Tensor   # [U, L, Dt] fp16, zero-padded
    mask: torch.Tensor     # [U, L] bool
    pooled: torch.Tensor   # [U, D]

    @staticmethod
    @torch.no_grad()
    def build(model: VideoTextModel, texts: list[str], batch_size: int = 256) -> "TextTable":
        texts = list(dict.fromkeys(texts))
        parts = [model.encode_text(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)]
        length = max(p.tokens.shape[1] for p in parts)
        return TextTable(
            texts=texts,
            tokens=torch.cat([F.pad(p.tokens.float(), (0, 0, 0, length - p.tokens.shape[1])).half().cpu()
                              for p in parts]),
            mask=torch.cat([F.pad(p.mask, (0, length - p.mask.shape[1])).cpu() for p in parts]),
            pooled=torch.cat([p.pooled.float().cpu() for p in parts]),
        )

    def ids(self, texts: list[str]) -> torch.Tensor:
        position = {t: i for i, t in enumerate(self.texts)}
        return torch.tensor([position[t] for t in texts])

    def features(self, ids: torch.Tensor, device: torch.device | str = "cpu") -> TextFeatures:
        """The rows ``ids`` as ``TextFeatures`` on ``device`` (tokens float32)."""
        return TextFeatures(self.tokens[ids].to(device).float(), self.mask[ids].to(device), self.pooled[ids].to(device))
