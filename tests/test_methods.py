"""Every method of the table honours one contract; a method registered only here (no other
file touched) trains, saves, loads, probes, evaluates and compares from the command line."""

import dataclasses
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actionkit.backbones.protocol import VideoTextModel
from actionkit.cli import main
from actionkit.data.manifest import read_manifest, write_manifest
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.text_table import TextTable
from actionkit.methods import METHODS, Method, MethodHeads, TrainingPlan, load_model
from actionkit.methods.checkpoint import base_reference
from actionkit.methods.config import config_from_dict, field_types
from actionkit.methods.training import train_method
from actionkit.scoring import CosineScoring
from actionkit.train.losses import video_text_contrastive_loss
from actionkit.train.trainer import TrainerConfig

# Small sizes for the tiny backbone, per method (a method whose defaults are small needs none).
SMALL = {"paxion": {"num_latents": 4, "dim": 16, "heads": 2, "text_latents": 2}, "paxion_fuser": {"heads": 2}}
CLI_FLAGS = {"backbone", "weights", "base", "data", "videos", "features", "out", "config", "set", "resume",
             "device", "workers", "no_progress", "verbose", "strict", "timeout", "allow_outside_root",
             "allow_other_base", "help"}


# -- a method defined only here ---------------------------------------------------------------
@dataclasses.dataclass
class ToyConfig:
    temperature: float = dataclasses.field(default=0.1, metadata={"help": "of the contrastive loss"})


class ToyHeads(CosineScoring, MethodHeads):
    """A linear map of the mean frame embedding."""

    def __init__(self, dim: int):
        super().__init__()
        self.embed_dim = dim
        self.proj = nn.Linear(dim, dim)

    def video(self, base, frame_tokens, frame_pooled):
        return F.normalize(self.proj(frame_pooled.mean(dim=1)), dim=-1)


def _toy_prepare(base, heads, data, cfg, device):
    table = TextTable.build(base, [r.caption for r in data.records])
    ids = table.ids([r.caption for r in data.records])

    def step(idx, _):
        video = heads.video(base, data.frame_tokens[idx].float(), data.frame_pooled[idx].float())
        return {"loss": video_text_contrastive_loss(video, table.pooled[ids[idx]], 1 / cfg.temperature, ids[idx])}

    return TrainingPlan(step, len(data))


TOY = Method(name="toy", model_name="toy", description="a test method", config=ToyConfig,
             build=lambda base, cfg: ToyHeads(base.embed_dim), prepare=_toy_prepare,
             train_defaults=TrainerConfig(epochs=1, batch_size=8, warmup_steps=1))


@pytest.fixture
def with_toy(monkeypatch):
    monkeypatch.setitem(METHODS, "toy", TOY)


# -- the contract ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def train_features(tiny_world, text_tower):
    from actionkit.backbones.world import WorldBackbone, WorldBackboneConfig

    torch.manual_seed(0)
    backbone = WorldBackbone(WorldBackboneConfig(num_frames=4, width=8, token_dim=16, embed_dim=16), text_tower).eval()
    records = read_manifest(tiny_world / "manifest.jsonl", split="train")
    return backbone, ClipFeatures.extract(backbone, records, tiny_world, workers=0, progress=False)


def _trained(name, backbone, features, folder):
    """A method trained for one epoch into ``folder``, on its base (trained first, beside it)."""
    method = METHODS[name]
    base, ref = backbone, base_reference("world", None)
    if method.base_method:
        base, ref = _trained(method.base_method, backbone, features, folder.parent / f"{folder.name}-base"), \
            base_reference(model=folder.parent / f"{folder.name}-base")
    cfg = config_from_dict(method.config, SMALL.get(name, {}), "test")
    train = dataclasses.replace(method.train_defaults, epochs=1, batch_size=8, warmup_steps=1)
    summary = train_method(method, base, ref, features, folder, cfg, train, progress=False)
    assert summary["train_clips"] > 0 and "loss" in summary["final"]
    return load_model(folder, backbone=backbone)


@pytest.mark.parametrize("name", [*METHODS, "toy"])
def test_method_contract(name, with_toy, train_features, tmp_path):
    backbone, features = train_features
    method = METHODS[name]
    types = field_types(method.config)
    assert not set(types) & CLI_FLAGS, "a config field shadows a command-line flag"
    assert not set(types) & set(field_types(TrainerConfig)), "a config field shadows a training option"
    assert config_from_dict(method.config, dataclasses.asdict(method.config()), "x") == method.config()

    model = _trained(name, backbone, features, tmp_path / name)
    assert isinstance(model, VideoTextModel) and model.name == method.model_name
    assert not any(p.requires_grad for p in model.heads.parameters())
    pixels = torch.randn(3, backbone.num_frames, 3, 64, 64)
    with torch.no_grad():
        f = model.encode_video(pixels)
        video = model.video_from_frames(f.frame_tokens.half(), f.frame_pooled.half())   # as from an fp16 cache
        text = model.encode_text(["a red star moving left", "a blue cube growing"]).pooled
        flipped = model.video_from_frames(f.frame_tokens.flip(1), f.frame_pooled.flip(1))
        reversed_ = model.encode_video(pixels.flip(1)).video
    assert torch.allclose(video, f.video, atol=2e-2)                    # cached features ~ videos
    assert model.frame_independent and torch.allclose(flipped, reversed_, atol=1e-5)   # reversal from the cache
    sims = model.similarity(video, text)
    assert sims.shape == (3, 2)
    assert torch.allclose(model.paired_similarity(video[:2], text), sims.diagonal()[:2], atol=1e-6)
    clip = model.clip_vector(video)
    assert clip.shape == (3, model.embed_dim) and torch.allclose(clip.norm(dim=-1), torch.ones(3), atol=1e-5)
    again = load_model(tmp_path / name, backbone=backbone)
    with torch.no_grad():
        assert torch.equal(again.video_from_frames(f.frame_tokens.half(), f.frame_pooled.half()), video)
        assert again.fingerprint() == model.fingerprint()
        next(again.heads.parameters()).add_(1.0)                         # other weights, other fingerprint
    assert again.fingerprint() != model.fingerprint()


# -- the toy method from the command line -------------------------------------------------------
def test_a_method_registered_in_one_line_runs_every_command(with_toy, tiny_world, tiny_backbone, tmp_path, capsys):
    tiny_backbone.save(tmp_path / "bb")
    common = ["--data", str(tiny_world), "--weights", str(tmp_path / "bb"), "--workers", "0", "--no-progress"]
    assert main(["train", "toy", *common, "--out", str(tmp_path / "toy"), "--temperature", "0.3",
                 "--set", "epochs=2", "--set", "temperature=0.2", "lr=0.01"]) == 0
    saved = json.loads((tmp_path / "toy" / "method.json").read_text())
    assert saved["config"] == {"temperature": 0.2}                     # --set wins over the flag
    assert saved["train"]["epochs"] == 2 and saved["train"]["lr"] == 0.01
    assert saved["base"]["weights_relative"] == "../bb"
    assert main(["probe", *common, "--model", str(tmp_path / "toy"), "--out", str(tmp_path / "probe.json")]) == 0
    assert list(json.loads((tmp_path / "probe.json").read_text())["models"]) == ["toy"]
    assert main(["eval", *common, "--model", str(tmp_path / "toy"), "--task", "zeroshot,retrieval,rcad",
                 "--out", str(tmp_path / "eval.json")]) == 0
    assert set(json.loads((tmp_path / "eval.json").read_text())["models"]["toy"]) == {"zeroshot", "retrieval", "rcad"}
    assert main(["compare", *common, "--model", f"mine={tmp_path / 'toy'}", "--shots", "2",
                 "--out", str(tmp_path / "cmp")]) == 0
    models = json.loads((tmp_path / "cmp" / "compare.json").read_text())["models"]
    assert list(models) == ["backbone", "mine"]


# -- training reads exactly its --data, and says what is wrong in one line ---------------------
def test_train_errors_are_one_line(with_toy, tiny_world, tiny_backbone, tmp_path, capsys):
    tiny_backbone.save(tmp_path / "bb")
    data = tmp_path / "data"
    (data / "clips").mkdir(parents=True)
    test_only = [r for r in read_manifest(tiny_world / "manifest.jsonl") if r.split == "test"]
    write_manifest(data / "M.jsonl", test_only)
    write_manifest(data / "manifest.jsonl", read_manifest(tiny_world / "manifest.jsonl"))   # must not be used
    common = ["--weights", str(tmp_path / "bb"), "--workers", "0", "--no-progress", "--out", str(tmp_path / "o")]
    assert main(["train", "paxion", "--data", str(data / "M.jsonl"), *common]) == 2
    err = capsys.readouterr().err
    assert "M.jsonl: no clips in split 'train'" in err and len(err.strip().splitlines()) == 1
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"epochs": 1, "num_latnts": 4}))
    assert main(["train", "paxion", "--data", str(tiny_world), *common, "--config", str(config)]) == 2
    assert f"{config}: unknown key 'num_latnts'" in capsys.readouterr().err
    assert main(["train", "paxion", "--data", str(tiny_world), *common, "--set", "dim=x"]) == 2
    assert "--set dim: cannot read 'x'" in capsys.readouterr().err
    assert main(["train", "paxion", "--data", str(tiny_world), *common, "--set", "vac=both"]) == 2
    assert "vac must be one of in_vtc, separate" in capsys.readouterr().err


def test_compare_keeps_the_tasks_the_clips_support():
    from actionkit.compare import fitting_tasks
    from actionkit.eval.sets import TaskSets

    clips = [ClipRecordLike(v) for v in ["a"] * 5 + ["b"] * 3 + ["c"] * 9]
    tasks, shots, skipped = fitting_tasks(clips, TaskSets(), (2, 4, 8))
    assert shots == (2, 4) and set(skipped) == {"mcqa", "rcad"} and "fewshot" in tasks   # K=8: only c has 9
    tasks, shots, skipped = fitting_tasks(clips, TaskSets(class_lists=(["a", "c"], ["a", "b"])), (2, 4, 8))
    assert shots == (2,)                                                  # in the second list only a has > 4
    tasks, shots, skipped = fitting_tasks(clips, TaskSets(class_lists=(["c"],)), (2,))
    assert {"zeroshot", "fewshot", "video2action"} <= set(skipped) and tasks == ("retrieval",)


@dataclasses.dataclass
class ClipRecordLike:
    verb: str
