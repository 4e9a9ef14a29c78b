"""ALT: token merging, the entity corpus, the alignment, the adapter and the explanations."""

from __future__ import annotations

import json

import pytest
import torch

from actionkit.cli import main
from actionkit.data.manifest import ManifestError, read_manifest
from actionkit.features.clip_features import ClipFeatures
from actionkit.methods import METHODS, load_model
from actionkit.methods.alt.merge import bipartite_soft_matching, merge_count, merge_regions, pool
from actionkit.methods.alt.method import AltConfig
from actionkit.text.entities import KINDS, build_corpus, read_entities
from actionkit.world.glosses import GLOSSES, MOTIONS
from actionkit.world.vocabulary import SHAPES

SMALL = ["--width", "16", "--heads", "2", "--epochs", "2", "--batch-size", "8", "--workers", "0"]


# -- region tokens ---------------------------------------------------------------------------------
def test_the_most_similar_pairs_merge_and_sizes_add_up():
    # A = positions 0, 2, 4 (0 is the protected summary), B = 1, 3, 5
    x = torch.tensor([[[5.0, 5.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [1.0, 0.05]]])
    merged, sizes, where = bipartite_soft_matching(x, torch.ones(1, 6), r=1)
    # A2=(1,0) is closer to B5=(1,0.05) than A4=(0.9,0.1) is: cos 0.9988 vs 0.9982 -> A2 goes first
    assert where.tolist() == [[0, 1, 4, 2, 3, 4]] and sizes.tolist() == [[1, 1, 1, 1, 2]]
    assert torch.allclose(merged[0, 4], (x[0, 2] + x[0, 5]) / 2)
    assert torch.equal(merged[0, :4], x[0, [0, 1, 3, 4]])           # the others, unchanged and in order
    size = torch.tensor([[1.0, 1, 1, 1, 3, 1]])
    merged, sizes, where = bipartite_soft_matching(x, size, r=2)   # A2 and A4 both join B5, size-weighted
    assert sizes.tolist() == [[1, 1, 1, 5]] and where.tolist() == [[0, 1, 3, 2, 3, 3]]
    assert torch.allclose(merged[0, 3], (x[0, 2] + 3 * x[0, 4] + x[0, 5]) / 5)
    merged, sizes, where = bipartite_soft_matching(x, size, r=3)   # r capped at 2: the summary never merges
    assert merged.shape[1] == 4 and where[0, 0] == 0


def test_r_is_capped_at_half_the_mergeable_tokens_and_order_is_stable():
    torch.manual_seed(0)
    x = torch.randn(2, 9, 4)
    assert merge_count(9, 100, protect_first=True) == 4 and merge_count(9, 100, protect_first=False) == 4
    assert merge_count(8, 100, protect_first=True) == 3 and merge_count(3, 2, protect_first=False) == 1
    merged, sizes, where = bipartite_soft_matching(x, torch.ones(2, 9), r=100)
    assert merged.shape == (2, 5, 4) and torch.equal(sizes.sum(1), torch.full((2,), 9.0))
    for b in range(2):
        kept = [m for m in range(9) if (where[b] == where[b, m]).sum() == 1 or m % 2 == 1]
        assert where[b, kept].tolist() == sorted(where[b, kept].tolist())   # remaining tokens keep their order
    regions = merge_regions(x, r=2, rounds=3)
    assert regions.tokens.shape == (2, 3, 4) and regions.owner[:, 0].eq(0).all()
    assert torch.allclose(pool(x, regions), regions.tokens, atol=1e-6)  # pooling = what the rounds merged


# -- the entity corpus -----------------------------------------------------------------------------
def test_corpus_has_four_kinds_the_objects_and_the_motions(tiny_world):
    records = read_manifest(tiny_world / "manifest.jsonl")
    corpus = build_corpus(records, GLOSSES)
    kinds = {e.kind for e in corpus}
    assert kinds == set(KINDS) and len({e.unit for e in corpus}) == len(corpus)
    units = {e.unit: e for e in corpus}
    assert {r.object for r in records} <= set(units) and all(units[r.object].kind == "object" for r in records)
    assert all(units[m].kind == "motion" for motions in MOTIONS.values() for m in motions)
    assert units["hand"].kind == "body_part" and units["plain background"].kind == "scene"
    only = build_corpus(records, GLOSSES, kinds=("object", "motion"))
    assert {e.kind for e in only} == {"object", "motion"}
    with pytest.raises(ValueError, match="entity kinds"):
        build_corpus(records, GLOSSES, kinds=("objects",))


def test_user_corpus_is_read_and_bad_rows_name_the_line(tmp_path):
    good = tmp_path / "e.jsonl"
    good.write_text('{"unit": "kettle", "description": "a metal kettle", "kind": "object"}\n'
                    '{"unit": "pouring", "description": "liquid flowing out", "kind": "motion"}\n')
    assert [e.text for e in read_entities(good)] == ["kettle: a metal kettle", "pouring: liquid flowing out"]
    assert [e.unit for e in read_entities(good, kinds=("motion",))] == ["pouring"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"unit": "kettle", "description": "x", "kind": "object"}\n{"unit": "a", "description": "y", '
                   '"kind": "colour"}\n')
    with pytest.raises(ManifestError, match=r"bad.jsonl:2.*kind must be one of"):
        read_entities(bad)


# -- alignment and adapter ---------------------------------------------------------------------------
@pytest.fixture
def features(tiny_world, tiny_backbone):
    records = read_manifest(tiny_world / "manifest.jsonl", split="train")
    return ClipFeatures.extract(tiny_backbone, records, tiny_world, workers=0, progress=False)


def _heads(backbone, features, **cfg):
    torch.manual_seed(0)
    config = AltConfig(width=16, heads=2, **cfg)
    heads = METHODS["alt"].build(backbone, config)
    plan = METHODS["alt"].prepare(backbone, heads, features, config, torch.device("cpu"))
    return heads, plan


def test_untrained_alt_is_the_frozen_backbone_and_alignment_is_argmax_at_evaluation(tiny_backbone, features):
    heads, _ = _heads(tiny_backbone, features)
    t, p = features.frame_tokens[:6].float(), features.frame_pooled[:6].float()
    heads.eval()
    with torch.no_grad():
        frozen = tiny_backbone.video_from_frames(t, p)
        assert torch.allclose(heads.video(tiny_backbone, t, p), frozen, atol=1e-6)   # zero-initialised output
        a, b = heads.align(tiny_backbone, t, p), heads.align(tiny_backbone, t, p)
    assert torch.equal(a.assign, b.assign) and torch.equal(a.assign.argmax(-1), a.logits.argmax(-1))
    assert a.assign.sum(-1).eq(1).all()                                           # one entity per region
    r = 1 + 16 - 2 * 4                                                            # summary + 16 patches, 2 rounds of 4
    assert a.assign.shape[:3] == (6, tiny_backbone.num_frames, r)


def test_straight_through_assignment_trains_the_tuned_region_projection(tiny_backbone, features):
    heads, plan = _heads(tiny_backbone, features, region_projection="tuned")
    heads.train()
    torch.manual_seed(1)
    a = heads.align(tiny_backbone, features.frame_tokens[:4].float(), features.frame_pooled[:4].float())
    assert set(a.assign.unique().tolist()) == {0.0, 1.0}                          # hard in the forward pass
    torch.nn.init.normal_(heads.proj_out.weight, std=0.1)                        # let the output depend on queries
    loss = plan.step(torch.arange(8), 0)["loss"]
    loss.backward()
    assert heads.region_residual.weight.grad.abs().sum() > 0                      # soft gradient in the backward pass


def test_the_adapter_sees_frame_order(tiny_backbone, features):
    heads, _ = _heads(tiny_backbone, features)
    for p in heads.parameters():
        torch.nn.init.normal_(p, std=0.2) if p.dim() > 1 else None
    heads.eval()
    t, p = features.frame_tokens[:4].float(), features.frame_pooled[:4].float()
    with torch.no_grad():
        forward, backward = heads.video(tiny_backbone, t, p), heads.video(tiny_backbone, t.flip(1), p.flip(1))
    assert (forward - backward).norm(dim=-1).min() > 1e-3


# -- from the command line: train, probe, eval, compare with explanations ------------------------------
def test_train_alt_then_probe_eval_and_compare_explain_every_clip(tiny_world, tiny_backbone, tmp_path, capsys):
    weights = tmp_path / "bb"
    tiny_backbone.save(weights)
    out = tmp_path / "alt"
    common = ["--data", str(tiny_world), "--weights", str(weights), "--no-progress"]
    assert main(["train", "alt", *common, "--out", str(out), "--merge-r", "3", *SMALL]) == 0
    meta = json.loads((out / "method.json").read_text())
    assert meta["config"]["merge_r"] == 3 and meta["summary"]["entity_counts"]["motion"] > 0
    model = load_model(out, backbone=tiny_backbone)
    entities = model.heads.entity_embeddings
    assert entities.shape[0] == len(meta["heads_state"]["entities"])
    assert torch.allclose(entities.norm(dim=-1), torch.ones(len(entities)))      # the saved embeddings, not zeros
    texts = [f"{e['unit']}: {e['description']}" for e in meta["heads_state"]["entities"][:3]]
    assert torch.allclose(entities[:3], tiny_backbone.encode_text(texts).pooled, atol=1e-5)

    assert main(["probe", *common, "--model", str(out), "--workers", "0", "--out", str(tmp_path / "p.json")]) == 0
    assert "explanations of" in capsys.readouterr().out
    report = json.loads((tmp_path / "p.json").read_text())
    test_ids = {r.id for r in read_manifest(tiny_world / "manifest.jsonl", split="test")}
    said = report["explanations"]["alt"]
    assert set(said["clips"]) == test_ids and said["checked"]["object"] == len(test_ids)
    clip = next(iter(said["clips"].values()))
    assert set(clip["top"]) == set(KINDS) and len(clip["frames"]) == tiny_backbone.num_frames
    assert clip["top"]["object"] in {e["unit"] for e in meta["heads_state"]["entities"] if e["kind"] == "object"}
    assert 0.0 <= said["object_named"] <= 1.0 and 0.0 <= said["motion_fits"] <= 1.0

    assert main(["eval", *common, "--model", str(out), "--workers", "0", "--task", "zeroshot",
                 "--out", str(tmp_path / "e.json")]) == 0
    assert set(json.loads((tmp_path / "e.json").read_text())["explanations"]["alt"]["clips"]) == test_ids
    assert main(["compare", *common, "--model", f"alt={out}", "--shots", "2", "--workers", "0",
                 "--out", str(tmp_path / "cmp")]) == 0
    models = json.loads((tmp_path / "cmp" / "compare.json").read_text())["models"]
    assert list(models) == ["backbone", "alt"] and "explanations" in models["alt"]
    assert "explanations" not in models["backbone"]
    assert "## Explanations" in (tmp_path / "cmp" / "compare.md").read_text()


def test_explanations_are_checked_against_the_manifest(tiny_world):
    from actionkit.eval.explanations import explanation_report

    records = read_manifest(tiny_world / "manifest.jsonl")[:3]
    right = [{"top": {"object": r.object, "motion": MOTIONS[r.verb][0]}} for r in records]
    wrong = [{"top": {"object": next(s for s in SHAPES if s != r.object), "motion": "staying still"}} for r in records]
    assert explanation_report(records, right)["both"] == 1.0
    report = explanation_report(records, wrong)
    assert report["object_named"] == 0.0 and report["motion_fits"] == 0.0 and report["checked"]["both"] == 3
    without_motion = explanation_report(records, [{"top": {"object": r.object}} for r in records])
    assert without_motion["object_named"] == 1.0 and without_motion["motion_fits"] is None   # not checked, not wrong
    with pytest.raises(ValueError, match="2 explanations for 3 clips"):
        explanation_report(records, right[:2])
