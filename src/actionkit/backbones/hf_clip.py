"""Hugging Face CLIP and X-CLIP backbones, loaded from a local directory only (never the hub).

``hf-clip:<dir>`` wraps ``transformers.CLIPModel`` (an image model applied per frame):

- patch tokens: the vision transformer's ``last_hidden_state`` without its CLS token,
  ``[B, T, P, Dv]``;
- frame embedding: ``visual_projection(pooler_output)``, exactly ``get_image_features``
  (un-normalised), ``[B, T, D]``;
- clip embedding: the mean over T of the *un-normalised* frame projections, then
  L2-normalised (CLIP4Clip "mean pooling"; frames of a clip have similar norms, so this is
  close to averaging the normalised ones). Blind to frame order.
- text: ``text_model`` tokens and mask; ``pooled`` = normalised ``get_text_features``.

``hf-xclip:<dir>`` wraps ``transformers.XCLIPModel``. Its vision transformer runs per frame
but exchanges "message" tokens across the T frames of a clip, so T is fixed by the
checkpoint (``config.vision_config.num_frames``). Patch tokens and frame embeddings are
taken as for CLIP; the clip embedding is X-CLIP's own: the multi-frame integration
transformer (``model.mit``) over the projected frame embeddings, normalised (equal to
normalised ``get_video_features``). It has temporal position embeddings, so it is *not*
blind to frame order. Text: X-CLIP conditions its text embedding on the video through a
prompt generator; the protocol wants a video-independent text embedding, so ``pooled`` is
the plain projected text feature (normalised ``get_text_features``), without the
video-conditioned prompt.

A directory holds what ``save_pretrained`` writes: ``config.json``, ``model.safetensors``
(or ``pytorch_model.bin`` / a sharded index), the tokenizer files, and optionally
``preprocessor_config.json`` (``image_mean`` / ``image_std``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.nn.functional as F

from actionkit.backbones.fingerprint import weights_digest
from actionkit.backbones.protocol import TextFeatures, VideoFeatures, mean_over_frames
from actionkit.checkpoint import refuse_pickles
from actionkit.scoring import CosineScoring
from actionkit.video.transforms import preprocess

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")   # safetensors only: pickles run code


def _check_checkpoint(directory: Path, kind: str, model_class: str, prefix: str) -> None:
    """FileNotFoundError (one line) unless ``directory`` holds a config and safetensors weights;
    ``PickleCheckpoint`` if it holds only pickle weights (``pytorch_model.bin``)."""
    refuse_pickles(directory, WEIGHT_FILES)
    ok = directory.is_dir() and (directory / "config.json").is_file() and any((directory / w).is_file() for w in WEIGHT_FILES)
    if not ok:
        raise FileNotFoundError(
            f"no {kind} checkpoint at {directory} (looked for config.json and model.safetensors); save one "
            f"with {model_class}.save_pretrained({directory}) and the tokenizer with save_pretrained({directory}), "
            f"or pass --weights DIR / {prefix}DIR"
        )


def _image_stats(directory: Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``image_mean`` / ``image_std`` from ``preprocessor_config.json``, else the CLIP values."""
    path = directory / "preprocessor_config.json"
    if path.is_file():
        cfg = json.loads(path.read_text())
        mean, std = cfg.get("image_mean"), cfg.get("image_std")
        if mean is not None and std is not None:
            return tuple(float(v) for v in mean), tuple(float(v) for v in std)
    return CLIP_MEAN, CLIP_STD


class _HFBase(CosineScoring):
    """Shared loading, preprocessing, per-frame vision and text code."""

    kind = "CLIP"
    model_class = "CLIPModel"
    prefix = "hf-clip:"

    def __init__(self, path: Path | str, device: str | torch.device = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoTokenizer

        directory = Path(path).expanduser()
        _check_checkpoint(directory, self.kind, self.model_class, self.prefix)
        self.path = directory
        self.name = f"{self.prefix}{directory}"
        self.model = self._model_cls().from_pretrained(str(directory), local_files_only=True, use_safetensors=True)
        self.model.requires_grad_(False)
        self.model = self.model.eval().to(device)
        self.tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
        cfg = self.model.config
        self.embed_dim = int(cfg.projection_dim)
        self.image_size = int(cfg.vision_config.image_size)
        self.mean, self.std = _image_stats(directory)
        self.max_text_len = min(int(self.tokenizer.model_max_length), int(cfg.text_config.max_position_embeddings))

    @staticmethod
    def _model_cls():
        raise NotImplementedError

    def fingerprint(self) -> str:
        return weights_digest(self.model.state_dict(), {"kind": self.kind, "num_frames": self.num_frames,
                                                        "image_size": self.image_size, "mean": self.mean,
                                                        "std": self.std})

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 [..., 3, H, W] -> float [..., 3, S, S]: short side to S, centre crop, mean/std."""
        return preprocess(frames, self.image_size, self.mean, self.std)

    @torch.no_grad()
    def encode_frames(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pixels [B, T, 3, S, S] -> (patch tokens [B, T, P, Dv], frame embeddings [B, T, D])."""
        b, t = pixels.shape[:2]
        out = self.model.vision_model(pixel_values=pixels.flatten(0, 1).to(self.device), return_dict=True)
        tokens = out.last_hidden_state[:, 1:, :]                     # drop CLS
        pooled = self.model.visual_projection(out.pooler_output)     # = get_image_features
        return tokens.unflatten(0, (b, t)), pooled.unflatten(0, (b, t))

    @torch.no_grad()
    def project_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Patch tokens ``[..., Dv]`` -> the joint space ``[..., D]`` through the vision model's final norm and
        projection, as the CLS token is (dense CLIP features, as MaskCLIP reads them)."""
        dtype = self.model.visual_projection.weight.dtype
        return self.model.visual_projection(self.model.vision_model.post_layernorm(tokens.to(self.device, dtype)))

    @torch.no_grad()
    def encode_text(self, texts: list[str]) -> TextFeatures:
        enc = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_text_len, return_tensors="pt"
        ).to(self.device)
        out = self.model.text_model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], return_dict=True)
        pooled = F.normalize(self.model.text_projection(out.pooler_output), dim=-1)
        return TextFeatures(tokens=out.last_hidden_state, mask=enc["attention_mask"].bool(), pooled=pooled)


class HFCLIPBackbone(_HFBase):
    """``hf-clip:<dir>``: a frozen ``CLIPModel`` applied per frame, mean-pooled over T."""

    frame_independent = True

    def __init__(self, path: Path | str, device: str | torch.device = "cpu", num_frames: int = 8):
        super().__init__(path, device)
        self.num_frames = num_frames

    @staticmethod
    def _model_cls():
        from transformers import CLIPModel

        return CLIPModel

    def encode_video(self, pixels: torch.Tensor) -> VideoFeatures:
        tokens, frame_pooled = self.encode_frames(pixels)
        return VideoFeatures(frame_tokens=tokens, frame_pooled=frame_pooled, video=mean_over_frames(frame_pooled))

    def video_from_frames(self, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        return mean_over_frames(frame_pooled.float())


class HFXCLIPBackbone(_HFBase):
    """``hf-xclip:<dir>``: a frozen ``XCLIPModel``; T is fixed by the checkpoint."""

    kind = "X-CLIP"
    model_class = "XCLIPModel"
    prefix = "hf-xclip:"
    frame_independent = False   # cross-frame communication: frames see each other

    def __init__(self, path: Path | str, device: str | torch.device = "cpu"):
        super().__init__(path, device)
        self.num_frames = int(self.model.config.vision_config.num_frames)

    @staticmethod
    def _model_cls():
        from transformers import XCLIPModel

        return XCLIPModel

    @torch.no_grad()
    def encode_video(self, pixels: torch.Tensor) -> VideoFeatures:
        if pixels.shape[1] != self.num_frames:
            raise ValueError(f"{self.name} takes exactly {self.num_frames} frames per clip, got {pixels.shape[1]}")
        tokens, frame_pooled = self.encode_frames(pixels)
        return VideoFeatures(frame_tokens=tokens, frame_pooled=frame_pooled,
                             video=self.video_from_frames(tokens, frame_pooled))

    @torch.no_grad()
    def video_from_frames(self, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        dtype = next(self.model.mit.parameters()).dtype
        mit = self.model.mit(frame_pooled.to(self.device, dtype))  # multi-frame integration (= get_video_features)
        return F.normalize(mit.pooler_output, dim=-1)
