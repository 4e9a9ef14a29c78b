"""LSS: concept spaces, views, losses, the EMA teacher, the collapse monitor, and no label read."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from actionkit.cli import main
from actionkit.data.manifest import read_manifest
from actionkit.features.clip_features import ClipFeatures
from actionkit.methods import METHODS, load_model
from actionkit.methods.checkpoint import base_reference
from actionkit.methods.claver.temporal import KroneckerTransformer, TemporalShape
from actionkit.methods.lss.concepts import concept_spaces
from actionkit.methods.lss.losses import (alignment_loss, distillation_loss, ema_momentum, entropy,
                                          teacher_targets, uniform_prior_loss)
from actionkit.methods.lss.method import LSS, CollapseMonitor, LssCollapsed, LssConfig
from actionkit.methods.lss.views import ViewConfig, sample_views
from actionkit.methods.training import train_method
from actionkit.train.trainer import TrainerConfig
from actionkit.world.vocabulary import verbs

SMALL = ["--epochs", "1", "--batch-size", "8", "--warmup-steps", "1"]


def test_concept_spaces_world_file_and_user_descriptions(tmp_path):
    world = concept_spaces("world")
    assert world.labels == tuple(verbs()) and len(set(world.descriptions)) == len(world)   # one-to-one, distinct
    assert all(d.startswith("first ") for d in world.descriptions)                          # the decomposition kind
    names = tmp_path / "classes.txt"
    names.write_text("opening_a_door\nclosing a door\n\njumping\n")
    rows = tmp_path / "d.jsonl"
    rows.write_text(json.dumps({"class": "jumping", "kind": "decomposition", "text": "feet leave the ground."}) + "\n"
                    + json.dumps({"class": "opening a door", "kind": "parts", "text": "a hand and a door."}) + "\n")
    spaces = concept_spaces(str(names), str(rows))
    assert spaces.names == ("opening a door", "closing a door", "jumping")
    assert spaces.descriptions[2] == "feet leave the ground."              # replaced, by label
    assert "opening a door" in spaces.descriptions[0]                       # other kind: not used, generic kept
    one = tmp_path / "one.txt"
    one.write_text("jumping\n")
    with pytest.raises(ValueError, match="at least two categories"):
        concept_spaces(str(one))


def test_views_are_subsets_of_frames_and_places():
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        views = sample_views(8, 16, ViewConfig(global_views=2, local_views=3, local_frames=2, local_grid=3), gen)
        assert [v.is_global for v in views] == [True, True, False, False, False]
        assert len(views[0].frames) == 8 and len(views[1].frames) == 4          # whole clip; half at stride 2
        for v in views:
            assert len(v.patches) >= 1 and v.patches.max() < 16 and v.frames.max() < 8
            assert torch.all(v.frames.diff() > 0) and torch.all(v.patches.diff() > 0)
        local = views[2]
        rows, cols = local.patches // 4, local.patches % 4
        assert len(local.frames) == 2 and local.frames.diff().item() == 1
        assert len(local.patches) == 9 and rows.max() - rows.min() == 2 and cols.max() - cols.min() == 2


def test_a_view_of_everything_is_the_clip_and_positions_are_checked():
    torch.manual_seed(0)
    module = KroneckerTransformer(TemporalShape(num_frames=4, num_patches=4, token_dim=6, embed_dim=8, width=8,
                                                depth=1, heads=2))
    tokens, pooled = torch.randn(2, 4, 4, 6), torch.randn(2, 4, 8)
    assert torch.allclose(module(tokens, pooled), module(tokens, pooled, torch.arange(4), torch.arange(4)))
    frames, places = torch.tensor([1, 3]), torch.tensor([0, 2])
    sub = module(tokens[:, frames][:, :, places], pooled[:, frames], frames, places)
    assert sub.shape == (2, 2, 8)
    # the view's tokens carry the embeddings of where they came from, not of positions 0, 1
    assert not torch.allclose(sub, module(tokens[:, frames][:, :, places], pooled[:, frames], torch.arange(2),
                                          torch.arange(2)))
    with pytest.raises(ValueError, match="built for 4 frames"):
        module(tokens[:, :2], pooled[:, :2], torch.tensor([3, 4]), torch.arange(4))


def test_losses_behave_as_their_formulas_say():
    torch.manual_seed(0)
    uniform = torch.zeros(3, 5, 7)
    assert uniform_prior_loss(uniform, 0.1).abs() < 1e-6                      # uniform batch mean: no penalty
    peaked = torch.zeros(3, 5, 7)
    peaked[..., 2] = 5.0
    assert uniform_prior_loss(peaked, 0.1) > 1.0
    teacher = torch.randn(2, 5, 7)
    targets = teacher_targets(teacher, torch.zeros(7), 0.04)
    agree = torch.cat([teacher[[1, 0]], teacher[:1]]) * (0.1 / 0.04)          # student view v = teacher's other view
    disagree = -agree
    assert distillation_loss(targets, agree, 0.1) < distillation_loss(targets, disagree, 0.1)
    cat, desc = torch.randn(3, 5, 7, requires_grad=True), torch.randn(3, 5, 7, requires_grad=True)
    alignment_loss(cat, desc, 0.1, "desc_to_cat").backward()
    assert cat.grad.abs().sum() > 0 and desc.grad is None                       # the description side is the target
    assert alignment_loss(cat, cat.detach().clone(), 0.1, "symmetric") < alignment_loss(cat, desc, 0.1, "symmetric")


def test_ema_momentum_rises_from_its_start_to_one():
    assert ema_momentum(0, 100, 0.996) == pytest.approx(0.996)
    assert ema_momentum(50, 100, 0.996) == pytest.approx(0.998)
    assert ema_momentum(100, 100, 0.996) == pytest.approx(1.0)


def test_collapse_stops_training_with_a_clear_message():
    history = []
    monitor = CollapseMonitor(steps_per_epoch=2, stop_at=1, num_concepts=4, history=history)
    spread = torch.eye(4)[None].repeat(2, 1, 1)                                  # every clip its own concept
    monitor.add(0, spread, float(entropy(spread)))
    monitor.add(1, spread, float(entropy(spread)))
    assert history == [{"epoch": 0, "teacher_entropy": 0.0, "argmax_concepts": 4}]
    same = torch.zeros(2, 4, 4)
    same[..., 1] = 1.0
    monitor.add(2, same, float(entropy(same)))
    with pytest.raises(LssCollapsed, match="collapsed in epoch 1: the teacher sent every clip to 1 concept"):
        monitor.add(3, same, float(entropy(same)))
    quiet = CollapseMonitor(1, stop_at=0, num_concepts=4, history=[])           # 0: only logged
    quiet.add(0, same, float(entropy(same)))
    resumed = CollapseMonitor(2, stop_at=1, num_concepts=4, history=[])
    resumed.add(3, same, float(entropy(same)))          # a resumed run's first, partial epoch: not judged
    assert resumed.history == []


def test_distillation_and_centring_by_hand():
    """Two global views and one local: pairs (0,1), (0,2), (1,0), (1,2); the centre shifts the target."""
    teacher = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])                       # [G=2, B=1, C=2]
    student = torch.tensor([[[0.0, 0.0]], [[0.2, 0.0]], [[0.0, 0.3]]])          # [V=3, B=1, C=2]
    center = torch.tensor([0.5, 0.0])
    targets = teacher_targets(teacher, center, 0.5)
    assert torch.allclose(targets[0, 0], torch.softmax(torch.tensor([1.0, 0.0]), -1))     # (1 - 0.5) / 0.5
    log_p = torch.log_softmax(student / 0.1, dim=-1)
    pairs = [(0, 1), (0, 2), (1, 0), (1, 2)]
    expected = torch.stack([-(targets[g, 0] * log_p[v, 0]).sum() for g, v in pairs]).mean()
    assert torch.allclose(distillation_loss(targets, student, 0.1), expected)


def test_the_teacher_is_an_ema_of_the_student_and_is_not_trained(tiny_backbone):
    heads = LSS.build(tiny_backbone, LssConfig())
    assert not any(p.requires_grad for p in heads.teacher.parameters())
    assert all(p.requires_grad for p in heads.student.parameters())
    before = [p.clone() for p in heads.teacher.parameters()]
    with torch.no_grad():
        for p in heads.student.parameters():
            p.add_(1.0)
    heads.update_teacher(0.75)
    for old, new, s in zip(before, heads.teacher.parameters(), heads.student.parameters()):
        assert torch.allclose(new, 0.75 * old + 0.25 * s)


@pytest.fixture()
def features(tiny_world, tiny_backbone):
    records = read_manifest(tiny_world / "manifest.jsonl", split="train")
    return ClipFeatures.extract(tiny_backbone, records, tiny_world, progress=False, workers=0)


def _train(backbone, features, out, **cfg):
    train = TrainerConfig(epochs=2, batch_size=8, lr=1e-3, warmup_steps=1, seed=0)
    return train_method(LSS, backbone, base_reference("world", out), features, out, LssConfig(**cfg), train,
                        progress=False)


def test_no_label_is_read_and_the_teacher_follows_the_student(tiny_backbone, features, tmp_path):
    """Blanking every verb and caption gives the same weights; the teacher is an EMA, not trained."""
    blank = dataclasses.replace(features, records=[
        dataclasses.replace(r, verb="", caption="", antonym_caption="", object_replaced_caption="", object="",
                            extra={}) for r in features.records])
    summary = _train(tiny_backbone, features, tmp_path / "a")
    _train(tiny_backbone, blank, tmp_path / "b")
    a, b = load_model(tmp_path / "a", backbone=tiny_backbone), load_model(tmp_path / "b", backbone=tiny_backbone)
    for (name, x), (_, y) in zip(a.heads.state_dict().items(), b.heads.state_dict().items()):
        assert torch.equal(x, y), name
    student, teacher = a.heads.student.state_dict(), a.heads.teacher.state_dict()
    torch.manual_seed(0)                                # the initialisation train_method starts from
    fresh = METHODS["lss"].build(tiny_backbone, LssConfig()).teacher.state_dict()
    for name in ("blocks.0.mlp.0.weight", "temporal"):
        assert not torch.equal(student[name], teacher[name])                   # the teacher lags behind
        assert not torch.equal(fresh[name], teacher[name])                     # and it moved
    assert a.heads.center.abs().sum() > 0                                      # the running centre is saved
    assert [row["epoch"] for row in summary["collapse_monitor"]] == [0, 1]
    assert all(row["argmax_concepts"] >= 1 and row["teacher_entropy"] > 0 for row in summary["collapse_monitor"])


def test_train_from_the_command_line_and_compare(tiny_world, tiny_backbone, tmp_path, capsys):
    weights = tmp_path / "bb"
    tiny_backbone.save(weights)
    out = tmp_path / "lss"
    assert main(["train", "lss", "--weights", str(weights), "--data", str(tiny_world), "--out", str(out),
                 "--objectives", "distill,prior", "--no-progress", *SMALL]) == 0
    meta = json.loads((out / "method.json").read_text())
    assert meta["config"]["objectives"] == ["distill", "prior"]
    assert len(meta["heads_state"]["concept_spaces"]["labels"]) == len(verbs())
    assert main(["compare", "--data", str(tiny_world), "--model", f"lss={out}", "--shots", "2", "--workers", "0",
                 "--no-progress", "--out", str(tmp_path / "cmp")]) == 0
    models = json.loads((tmp_path / "cmp" / "compare.json").read_text())["models"]
    assert list(models) == ["backbone", "lss"] and "zeroshot" in models["lss"]["tasks"]
    code = main(["train", "lss", "--weights", str(weights), "--data", str(tiny_world), "--out", str(tmp_path / "x"),
                 "--concepts", str(tmp_path / "none.txt"), "--no-progress", *SMALL])
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert code == 2 and len(err) == 1 and "none.txt" in err[0]


def _interrupted(backbone, features, out, crash_at=None, resume=False):
    from actionkit.train.trainer import Trainer

    torch.manual_seed(0)
    cfg = LssConfig()
    heads = LSS.build(backbone, cfg)
    plan = LSS.prepare(backbone, heads, features, cfg, torch.device("cpu"))

    def step(idx, s):
        if s == crash_at:
            raise KeyboardInterrupt
        return plan.step(idx, s)

    trainer = Trainer(heads, step, plan.num_items, TrainerConfig(epochs=2, batch_size=8, warmup_steps=1), out,
                      progress=False, model_config=dataclasses.asdict(cfg),
                      after_step=lambda s, total: LSS.after_step(heads, s, total))
    trainer.fit(resume=resume)
    return heads


def test_resume_lands_on_the_uninterrupted_result(tiny_backbone, features, tmp_path):
    """Views, the teacher and the running centre all continue where they were."""
    straight = _interrupted(tiny_backbone, features, tmp_path / "a")
    steps_per_epoch = len(features) // 8
    with pytest.raises(KeyboardInterrupt):
        _interrupted(tiny_backbone, features, tmp_path / "b", crash_at=steps_per_epoch + 1)
    resumed = _interrupted(tiny_backbone, features, tmp_path / "b", resume=True)
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(p, q, atol=1e-6), name
