import pytest
import torch

from actionkit.backbones.protocol import TextFeatures
from actionkit.scoring import CosineScoring

from actionkit.world.generate import WorldConfig, generate_world


@pytest.fixture(scope="session")
def text_tower():
    """The real frozen MiniLM, loaded once per test session (offline, from the package)."""
    from actionkit.backbones.minilm import MiniLMTextTower

    return MiniLMTextTower()


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """A 60-clip Action World (8 frames of 64 px) shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("world")
    generate_world(out, 60, WorldConfig(seed=0, num_frames=8), workers=1, progress=False)
    return out


@pytest.fixture
def tiny_backbone(text_tower):
    from actionkit.backbones.world import WorldBackbone, WorldBackboneConfig

    torch.manual_seed(0)
    cfg = WorldBackboneConfig(num_frames=4, width=8, token_dim=16, embed_dim=16)
    return WorldBackbone(cfg, text_tower).eval()


class TableText(CosineScoring):
    """A model whose text embeddings come from a table, and whose scoring is the dot product."""

    def __init__(self, table: dict[str, torch.Tensor]):
        self.table = table

    def encode_text(self, texts):
        pooled = torch.stack([self.table[t] for t in texts])
        return TextFeatures(pooled[:, None], torch.ones(len(texts), 1, dtype=torch.bool), pooled)
