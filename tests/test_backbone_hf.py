"""HF CLIP / X-CLIP backbones on tiny random checkpoints saved to tmp dirs (no network)."""

import json

import pytest
import torch
import torch.nn.functional as F

from actionkit.backbones.hf_clip import CLIP_MEAN, HFCLIPBackbone, HFXCLIPBackbone
from actionkit.backbones.load import load_backbone
from actionkit.backbones.protocol import Backbone
from actionkit.backbones.random_clip import save_random_clip

transformers = pytest.importorskip("transformers")

TEXTS = ["the cat", "a person pushes the box from left to right", "x"]
B, T, S, PATCH = 2, 4, 32, 8
P = (S // PATCH) ** 2


TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
VISION = dict(image_size=S, patch_size=PATCH, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=2)


def _frames(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (B, T, 3, 40, 48), dtype=torch.uint8, generator=g)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return save_random_clip(tmp_path_factory.mktemp("hf-clip"), VISION, TEXT, projection_dim=16)


@pytest.fixture(scope="module")
def xclip_dir(tmp_path_factory):
    vision = dict(VISION, num_frames=T, mit_hidden_size=16, mit_intermediate_size=32, mit_num_hidden_layers=1,
                  mit_num_attention_heads=2)
    return save_random_clip(tmp_path_factory.mktemp("hf-xclip"), vision, TEXT, projection_dim=16,
                            model_class="XCLIPModel", prompt_layers=1, prompt_num_attention_heads=2)


def _pooled(out):
    """``get_*_features`` returns a tensor in transformers 4.x, an output object in 5.x."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def _check_text(bb):
    tf = bb.encode_text(TEXTS)
    n, L = tf.mask.shape
    assert n == len(TEXTS) and tf.mask.dtype == torch.bool and L <= 32
    assert tf.tokens.shape == (n, L, 32) and tf.tokens.dtype == torch.float32
    assert tf.pooled.shape == (n, 16) and tf.pooled.dtype == torch.float32
    assert torch.allclose(tf.pooled.norm(dim=-1), torch.ones(n), atol=1e-5)
    enc = bb.tokenizer(TEXTS, padding=True, truncation=True, max_length=bb.max_text_len, return_tensors="pt")
    assert torch.equal(tf.mask, enc["attention_mask"].bool())
    with torch.no_grad():
        ref = F.normalize(_pooled(bb.model.get_text_features(**enc)), dim=-1)
    assert torch.allclose(tf.pooled, ref, atol=1e-5)
    long = bb.encode_text(["the " * 100])
    assert long.mask.shape[1] <= 32


def _check_video(bb, pixels):
    vf = bb.encode_video(pixels)
    assert vf.frame_tokens.shape == (B, T, P, 32) and vf.frame_tokens.dtype == torch.float32
    assert vf.frame_pooled.shape == (B, T, 16) and vf.frame_pooled.dtype == torch.float32
    assert vf.video.shape == (B, 16) and vf.video.dtype == torch.float32
    assert torch.allclose(vf.video.norm(dim=-1), torch.ones(B), atol=1e-5)
    return vf


def test_hf_clip_protocol(clip_dir):
    bb = load_backbone("hf-clip:" + str(clip_dir), None)
    assert isinstance(bb, HFCLIPBackbone) and isinstance(bb, Backbone)
    assert bb.name == f"hf-clip:{clip_dir}"
    assert (bb.embed_dim, bb.num_frames, bb.image_size) == (16, 8, S)
    assert bb.mean == CLIP_MEAN  # no preprocessor_config.json -> standard CLIP stats
    assert not any(p.requires_grad for p in bb.model.parameters()) and not bb.model.training

    pixels = bb.preprocess(_frames())
    assert pixels.shape == (B, T, 3, S, S) and pixels.dtype == torch.float32
    vf = _check_video(bb, pixels)
    with torch.no_grad():
        ref = _pooled(bb.model.get_image_features(pixel_values=pixels.flatten(0, 1)))
        cls_free = bb.model.vision_model(pixel_values=pixels.flatten(0, 1)).last_hidden_state[:, 1:]
    assert torch.allclose(vf.frame_pooled, ref.unflatten(0, (B, T)), atol=1e-5)
    assert torch.allclose(vf.frame_tokens, cls_free.unflatten(0, (B, T)), atol=1e-5)
    assert torch.allclose(vf.video, F.normalize(ref.unflatten(0, (B, T)).mean(1), dim=-1), atol=1e-5)
    # mean pooling is blind to frame order
    assert torch.allclose(bb.encode_video(pixels.flip(1)).video, vf.video, atol=1e-5)
    _check_text(bb)


def test_hf_clip_weights_override_and_preprocessor_stats(clip_dir, tmp_path):
    import shutil

    d = tmp_path / "ckpt"
    shutil.copytree(clip_dir, d)
    (d / "preprocessor_config.json").write_text(json.dumps({"image_mean": [0.5] * 3, "image_std": [0.25] * 3}))
    bb = load_backbone("hf-clip:ignored", d)
    assert bb.path == d and bb.mean == (0.5,) * 3 and bb.std == (0.25,) * 3


def test_hf_clip_missing_checkpoint(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError) as e:
        load_backbone("hf-clip:" + str(missing), None)
    msg = str(e.value)
    assert str(missing) in msg and "\n" not in msg and "save_pretrained" in msg
    (tmp_path / "config.json").write_text("{}")  # config but no weights
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_backbone("hf-clip:" + str(tmp_path), None)
    with pytest.raises(FileNotFoundError, match="XCLIPModel"):
        load_backbone("hf-xclip:" + str(missing), None)


def test_hf_xclip_protocol(xclip_dir):
    bb = load_backbone("hf-xclip:" + str(xclip_dir), None)
    assert isinstance(bb, HFXCLIPBackbone) and isinstance(bb, Backbone)
    assert (bb.embed_dim, bb.num_frames, bb.image_size) == (16, T, S)
    assert not any(p.requires_grad for p in bb.model.parameters())

    pixels = bb.preprocess(_frames(1))
    assert pixels.shape == (B, T, 3, S, S)
    vf = _check_video(bb, pixels)
    with torch.no_grad():
        ref = F.normalize(_pooled(bb.model.get_video_features(pixel_values=pixels)), dim=-1)
    assert torch.allclose(vf.video, ref, atol=1e-5)
    with pytest.raises(ValueError, match="frames"):
        bb.encode_video(pixels[:, :2])
    _check_text(bb)
    # Frames see each other: the reversed clip is encoded again, never made from flipped features.
    from actionkit.features.embeddings import reversed_video

    assert not bb.frame_independent
    with torch.no_grad():
        assert torch.allclose(reversed_video(bb, vf, pixels), bb.encode_video(pixels.flip(1)).video, atol=1e-6)
    with pytest.raises(ValueError, match="not encoded independently"):
        reversed_video(bb, vf)


def test_probe_and_patch_run_on_an_hf_clip_backbone(clip_dir, tiny_world, tmp_path):
    import json

    from actionkit.cli import main

    common = ["--backbone", f"hf-clip:{clip_dir}", "--data", str(tiny_world), "--workers", "0", "--no-progress"]
    assert main(["patch", *common, "--out", str(tmp_path / "p"), "--epochs", "1", "--batch-size", "8",
                 "--latents", "4", "--dim", "16", "--heads", "2"]) == 0
    assert main(["probe", *common, "--patcher", str(tmp_path / "p"), "--split", "all",
                 "--out", str(tmp_path / "probe.json")]) == 0
    report = json.loads((tmp_path / "probe.json").read_text())
    assert report["n_clips"] == 60 and list(report["models"]) == ["patched"]
