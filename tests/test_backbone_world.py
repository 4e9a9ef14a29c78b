import pytest
import torch

from actionkit.backbones.load import UnknownBackbone, load_backbone
from actionkit.backbones.protocol import Backbone
from actionkit.backbones.world import WorldBackbone
from actionkit.train.losses import video_text_contrastive_loss


def test_world_backbone_answers_the_protocol(tiny_backbone):
    model = tiny_backbone
    assert isinstance(model, Backbone)
    frames = torch.randint(0, 256, (2, 4, 3, 48, 64), dtype=torch.uint8)
    pixels = model.preprocess(frames)
    assert pixels.shape == (2, 4, 3, 64, 64) and pixels.dtype == torch.float32
    with torch.no_grad():
        v = model.encode_video(pixels)
        t = model.encode_text(["opening the lid of a red star", "a blue cross"])
    assert v.frame_tokens.shape == (2, 4, 16, 16)            # (64/16)^2 patches of Dv=16
    assert v.frame_pooled.shape == (2, 4, 16) and v.video.shape == (2, 16)
    assert torch.allclose(v.video.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert t.tokens.shape[0] == 2 and t.tokens.shape[2] == 384 and t.mask.dtype == torch.bool
    assert t.mask[1].sum() < t.mask[0].sum()                  # the shorter caption has fewer tokens
    assert t.pooled.shape == (2, 16)


def test_mean_pooled_clip_embedding_is_blind_to_frame_order(tiny_backbone):
    pixels = torch.randn(3, 4, 3, 64, 64)
    with torch.no_grad():
        a = tiny_backbone.encode_video(pixels)
        b = tiny_backbone.encode_video(pixels.flip(1))
    assert torch.allclose(a.video, b.video, atol=1e-6)
    assert not torch.allclose(a.frame_pooled, b.frame_pooled)  # frames differ, the mean does not


def test_save_and_load_round_trip(tiny_backbone, tmp_path):
    tiny_backbone.save(tmp_path / "ckpt")
    loaded = load_backbone("world", tmp_path / "ckpt")
    loaded._text_tower = tiny_backbone.text_tower
    pixels = torch.randn(1, 4, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded.encode_video(pixels).video, tiny_backbone.encode_video(pixels).video)
    assert not any(p.requires_grad for p in loaded.parameters())


def test_missing_checkpoint_says_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError, match="actionkit backbone train"):
        WorldBackbone.load(tmp_path / "none")
    with pytest.raises(UnknownBackbone, match="available here: world"):
        load_backbone("nope", None)
    with pytest.raises(UnknownBackbone, match="as hf-clip:<dir>"):
        load_backbone("openclip:ViT-B-16", None)


def test_contrastive_loss_prefers_the_matching_caption():
    video = torch.eye(4)
    good = video_text_contrastive_loss(video, torch.eye(4), 10.0)
    bad = video_text_contrastive_loss(video, torch.eye(4).flip(0), 10.0)
    assert good < 0.01 < bad
    # clips sharing a caption id are positives: swapping their texts changes nothing
    ids = torch.tensor([0, 0, 1, 2])
    text = torch.eye(4)[[1, 0, 2, 3]]
    assert torch.allclose(video_text_contrastive_loss(video, text, 10.0, ids),
                          video_text_contrastive_loss(video, torch.eye(4), 10.0, ids))


def test_lit_backbone_uses_the_locked_pretrained_image_tower(text_tower):
    from actionkit.backbones.world import WorldBackboneConfig

    torch.manual_seed(0)
    model = WorldBackbone(WorldBackboneConfig.lit(), text_tower).eval()
    assert model.name == "lit" and model.encoder_is_frozen
    frames = torch.randint(0, 256, (1, 8, 3, 64, 64), dtype=torch.uint8)
    pixels = model.preprocess(frames)
    assert pixels.min() >= -1 and pixels.max() <= 1                      # EfficientNet-Lite input range
    with torch.no_grad():
        v = model.encode_video(pixels)
    assert v.frame_tokens.shape == (1, 8, 4, 1280)                        # (64/32)^2 patches
    # The real ImageNet weights, not a random init: two inits give identical tokens.
    other = WorldBackbone(WorldBackboneConfig.lit(), text_tower).eval()
    with torch.no_grad():
        assert torch.equal(other.encode_video(pixels).frame_tokens, v.frame_tokens)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"visual_proj.weight", "visual_proj.bias", "text_proj.weight", "text_proj.bias",
                         "logit_scale"}


def test_lit_backbone_trains_its_projections_only(tiny_world, tmp_path):
    from actionkit.backbones.world import WorldBackboneConfig
    from actionkit.backbones.world_training import WorldTrainConfig, train_world_backbone

    cfg = WorldTrainConfig(epochs=1, batch_size=8, workers=0)
    summary = train_world_backbone(tiny_world, tmp_path / "lit", WorldBackboneConfig.lit(), cfg, progress=False)
    assert summary["backbone"] == "lit" and summary["train_clips"] >= 8
    loaded = load_backbone("lit", tmp_path / "lit")
    assert loaded.name == "lit"
    with pytest.raises(ValueError, match="holds a 'lit' backbone, not 'world'"):
        load_backbone("world", tmp_path / "lit")


def test_order_head_reads_frame_order_and_is_not_saved(tiny_world, tmp_path):
    """The training-only order head tells a clip from its reversal, trains the frame encoder
    through its own loss, and leaves the saved backbone's shape and order-blindness alone."""
    import json

    from actionkit.backbones.order_head import OrderHead
    from actionkit.backbones.world import WorldBackbone, WorldBackboneConfig
    from actionkit.backbones.world_training import WorldTrainConfig, train_world_backbone

    torch.manual_seed(0)
    head = OrderHead(num_patches=4, token_dim=8, embed_dim=8, max_frames=4)
    tokens, positions = torch.randn(2, 3, 4, 8), torch.tensor([0, 1, 3])
    assert not torch.allclose(head(tokens, positions), head(tokens.flip(1), positions), atol=1e-4)

    cfg = WorldBackboneConfig(num_frames=4, width=8, token_dim=16, embed_dim=16)
    for weight in (0.0, 1.0):
        train = WorldTrainConfig(epochs=1, batch_size=8, workers=0, warmup_steps=1, order_head_weight=weight, log_every=1)
        train_world_backbone(tiny_world, tmp_path / str(weight), cfg, train, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "1.0" / "metrics.jsonl").read_text().splitlines()]
    assert {"clip", "order_head"} <= set(rows[0])
    plain = WorldBackbone.load(tmp_path / "0.0")
    with_head = WorldBackbone.load(tmp_path / "1.0")
    assert plain.state_dict().keys() == with_head.state_dict().keys()              # the head is not saved
    assert not torch.equal(plain.state_dict()["visual_proj.weight"], with_head.state_dict()["visual_proj.weight"])
    pixels = torch.randn(1, 4, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(with_head.encode_video(pixels).video, with_head.encode_video(pixels.flip(1)).video,
                              atol=1e-6)
