"""CLAVER: Kronecker masks against hand-written ones, the temporal transformer's receptive
fields, interpretive prompts, per-view class scoring, and the method from the command line."""

import json

import pytest
import torch

from actionkit.cli import main
from actionkit.data.manifest import ManifestError
from actionkit.methods import METHODS, load_model
from actionkit.methods.claver.masks import MASK_KINDS, attended_keys, kronecker_mask
from actionkit.methods.claver.method import ClaverConfig
from actionkit.methods.claver.temporal import KroneckerTransformer, TemporalShape, mean_of_normalised
from actionkit.text.prompts import TEMPLATES, Description, build_bank, read_descriptions
from actionkit.world.glosses import GLOSSES

# -- masks ----------------------------------------------------------------------------------------
# T = 3 frames of L = 2 tokens, frame-major (token t*L + l); 1 = blocked. Written out by hand.
HAND = {
    "kmt": [[0, 1, 0, 0, 0, 0],
            [1, 0, 0, 0, 0, 0],
            [0, 0, 0, 1, 0, 0],
            [0, 0, 1, 0, 0, 0],
            [0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 1, 0]],
    "kmct": [[0, 1, 1, 1, 1, 1],
             [1, 0, 1, 1, 1, 1],
             [0, 0, 0, 1, 1, 1],
             [0, 0, 1, 0, 1, 1],
             [0, 0, 0, 0, 0, 1],
             [0, 0, 0, 0, 1, 0]],
    "joint": [[0] * 6 for _ in range(6)],
    "spatial": [[0, 0, 1, 1, 1, 1],
                [0, 0, 1, 1, 1, 1],
                [1, 1, 0, 0, 1, 1],
                [1, 1, 0, 0, 1, 1],
                [1, 1, 1, 1, 0, 0],
                [1, 1, 1, 1, 0, 0]],
    "temporal": [[0, 1, 0, 1, 0, 1],
                 [1, 0, 1, 0, 1, 0],
                 [0, 1, 0, 1, 0, 1],
                 [1, 0, 1, 0, 1, 0],
                 [0, 1, 0, 1, 0, 1],
                 [1, 0, 1, 0, 1, 0]],
}


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_masks_equal_the_hand_written_ones(kind):
    mask = kronecker_mask(kind, 3, 2)
    assert mask.dtype == torch.bool and mask.shape == (6, 6)
    assert torch.equal(mask, torch.tensor(HAND[kind], dtype=torch.bool))


@pytest.mark.parametrize("t, l", [(1, 1), (2, 5), (8, 17), (5, 3)])
def test_counting_rule(t, l):
    assert torch.equal(attended_keys(kronecker_mask("kmt", t, l)), torch.full((t * l,), (t - 1) * l + 1))
    frame = torch.arange(t).repeat_interleave(l)
    assert torch.equal(attended_keys(kronecker_mask("kmct", t, l)), 1 + frame * l)
    assert torch.equal(attended_keys(kronecker_mask("spatial", t, l)), torch.full((t * l,), l))
    assert torch.equal(attended_keys(kronecker_mask("temporal", t, l)), torch.full((t * l,), t))
    assert bool((kronecker_mask("kmt", t, l).diagonal() == 0).all())          # every token sees itself


def test_masks_are_cached_per_shape_and_unknown_kinds_refused():
    assert kronecker_mask("kmt", 4, 3) is kronecker_mask("kmt", 4, 3)
    assert kronecker_mask("kmt", 4, 3) is not kronecker_mask("kmt", 4, 2)
    with pytest.raises(ValueError, match="unknown mask kind 'diagonal'"):
        kronecker_mask("diagonal", 2, 2)


# -- the temporal transformer -----------------------------------------------------------------------
def _module(mask, depth=2, width=8, embed=8, spatial=True):
    torch.manual_seed(0)
    shape = TemporalShape(num_frames=4, num_patches=3, token_dim=6, embed_dim=embed, width=width, depth=depth,
                          heads=2, mask=mask, spatial_embedding=spatial)
    return KroneckerTransformer(shape).eval()


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 4, 3, 6, generator=g), torch.randn(2, 4, 8, generator=g)


def _frames_that_change(mask, frame):
    """Which frames' outputs change when the input tokens of ``frame`` change."""
    module = _module(mask)
    tokens, pooled = _inputs()
    other_tokens, other_pooled = tokens.clone(), pooled.clone()
    other_tokens[:, frame] += 1.0
    other_pooled[:, frame] += 1.0
    with torch.no_grad():
        a, b = module(tokens, pooled), module(other_tokens, other_pooled)
    assert a.shape == (2, 4, 8)
    return [t for t in range(4) if not torch.allclose(a[:, t], b[:, t], atol=1e-6)]


def test_receptive_fields_follow_the_mask():
    assert _frames_that_change("kmct", 2) == [2, 3]          # causal: only the frame itself and later ones
    assert _frames_that_change("kmct", 0) == [0, 1, 2, 3]
    assert _frames_that_change("spatial", 2) == [2]          # no frame sees another
    assert _frames_that_change("kmt", 2) == [0, 1, 2, 3]
    assert _frames_that_change("joint", 2) == [0, 1, 2, 3]


def test_kmt_summary_token_does_not_see_its_own_frames_patches_in_one_block():
    module = _module("kmt", depth=1)
    tokens, pooled = _inputs()
    other = tokens.clone()
    other[:, 1] += 1.0                                        # frame 1's patches only
    with torch.no_grad():
        a, b = module(tokens, pooled), module(other, pooled)
    assert torch.allclose(a[:, 1], b[:, 1], atol=1e-6)        # its summary token sees itself + other frames
    assert not torch.allclose(a[:, 0], b[:, 0], atol=1e-6)


def test_without_blocks_the_module_is_the_frozen_backbone():
    module = _module("kmt", depth=0, spatial=False)
    with torch.no_grad():
        module.temporal.zero_()
    tokens, pooled = _inputs()
    with torch.no_grad():
        frames = module(tokens, pooled)
    assert torch.allclose(frames, pooled, atol=1e-6)           # identity-initialised projections in and out
    assert torch.allclose(mean_of_normalised(frames), mean_of_normalised(pooled))


def test_kronecker_module_is_order_aware():
    module = _module("kmt")
    tokens, pooled = _inputs()
    with torch.no_grad():
        clip = mean_of_normalised(module(tokens, pooled))
        flipped = mean_of_normalised(module(tokens.flip(1), pooled.flip(1)))
    assert not torch.allclose(clip, flipped, atol=1e-4)


# -- prompts ----------------------------------------------------------------------------------------
NAMES = {"spin_clockwise": "a thing spinning a full turn clockwise", "open": "opening the lid of a thing",
         "juggling_balls": "juggling balls"}


def test_prompt_sets_grow_from_names_to_descriptions():
    names = build_bank(NAMES, "names", glosses=GLOSSES)
    templates = build_bank(NAMES, "templates", glosses=GLOSSES)
    described = build_bank(NAMES, "descriptions", glosses=GLOSSES)
    spin = NAMES["spin_clockwise"]
    assert names.of(spin) == (spin,)
    assert templates.of(spin) == tuple(t.format(spin) for t in TEMPLATES)
    extra = described.of(spin)[len(TEMPLATES):]
    assert len(extra) >= 6 and any("clock" in t for t in extra)   # decomposition / parts / synonyms from the gloss
    assert described.counts["decomposition"] >= 3 and described.counts["synonyms"] >= 2
    assert described.source == "generated" and names.source == "none"
    # a label without a gloss still gets generic descriptions; a class the bank lacks gets its templates
    assert len(described.of("juggling balls")) > len(TEMPLATES)
    unseen = described.of("a class never seen")                       # not in the bank: templates + generic
    assert unseen[:len(TEMPLATES)] == tuple(t.format("a class never seen") for t in TEMPLATES)
    assert len(unseen) > len(TEMPLATES) and names.of("a class never seen") == ("a class never seen",)


def test_user_descriptions_replace_generated_ones_and_bad_rows_are_one_line(tmp_path):
    good = tmp_path / "d.jsonl"
    rows = [{"class": "open", "kind": "decomposition", "text": "the lid goes up"},
            {"class": "open", "kind": "scene", "text": "a kitchen"},
            {"class": "juggling balls", "kind": "parts", "text": "two hands and three balls"},   # by its name
            {"class": "folding_paper", "kind": "synonyms", "text": "creasing a sheet"}]         # not trained on
    good.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    bank = build_bank(NAMES, "descriptions", glosses=GLOSSES, user=read_descriptions(good), source=str(good))
    assert bank.of(NAMES["open"])[len(TEMPLATES):] == ("the lid goes up",)     # "scene" is not a kind used
    assert bank.counts["ignored"] == 1
    assert bank.of("juggling balls")[len(TEMPLATES):] == ("two hands and three balls",)
    assert bank.of("folding paper")[len(TEMPLATES):] == ("creasing a sheet",)   # zero-shot classes keep theirs
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"class": "open", "kind": "parts"}) + "\n")
    with pytest.raises(ManifestError, match=r"bad.jsonl:2: field text must be a non-empty string"):
        read_descriptions(bad)


def test_over_long_descriptions_are_truncated_not_fatal(tiny_backbone):
    long = "first the lid is shut and then it slowly swings up " * 200       # thousands of word pieces
    a, b = tiny_backbone.encode_text([long, long + " and a completely different ending"]).pooled
    assert torch.allclose(a, b, atol=1e-6)                                   # cut at the encoder's context


# -- the method --------------------------------------------------------------------------------------
SMALL = ["--width", "16", "--heads", "2", "--depth", "1", "--epochs", "2", "--batch-size", "8", "--warmup-steps",
         "1", "--views", "3"]


def test_train_probe_and_class_scores_from_the_command_line(tiny_world, tiny_backbone, tmp_path, capsys):
    weights = tmp_path / "bb"
    tiny_backbone.save(weights)
    out = tmp_path / "claver"
    assert main(["train", "claver", "--weights", str(weights), "--data", str(tiny_world), "--out", str(out),
                 "--mask", "kmct", "--no-progress", *SMALL]) == 0
    meta = json.loads((out / "method.json").read_text())
    assert meta["config"]["mask"] == "kmct" and meta["summary"]["descriptions_source"] == "world lexicon"
    bank = meta["heads_state"]["prompt_bank"]["views"]
    assert len(bank) == len(GLOSSES)                     # every verb of the world, also those not trained on
    model = load_model(out)
    video = torch.nn.functional.normalize(torch.randn(5, model.embed_dim), dim=-1)
    names = list(bank)[:4]
    scores = model.class_scores(video, names)
    assert scores.shape == (5, 4) and torch.allclose(scores.sum(dim=1), torch.ones(5), atol=1e-5)
    assert main(["compare", "--data", str(tiny_world), "--model", f"claver={out}", "--shots", "2", "--workers", "0",
                 "--no-progress", "--out", str(tmp_path / "cmp")]) == 0
    models = json.loads((tmp_path / "cmp" / "compare.json").read_text())["models"]
    assert list(models) == ["backbone", "claver"]
    assert "last_frame" in models["claver"]["controls"] and "zeroshot" in models["claver"]["tasks"]


def test_zero_shot_uses_a_models_own_class_scores():
    from actionkit.eval.tasks import zero_shot

    class OwnScores:
        def similarity(self, video, text):          # would get every clip wrong
            raise AssertionError("the prompt ensemble must not be used")

        def class_scores(self, video, names):
            return torch.nn.functional.one_hot(torch.tensor([2, 0, 1]), len(names)).float()

    assert zero_shot(OwnScores(), torch.zeros(3, 4), torch.tensor([2, 0, 1]), ["a", "b", "c"])["top1"] == 1.0


def test_bad_settings_are_one_line_errors(tiny_world, tiny_backbone, tmp_path, capsys):
    weights = tmp_path / "bb"
    tiny_backbone.save(weights)
    missing = tmp_path / "nope.jsonl"
    code = main(["train", "claver", "--weights", str(weights), "--data", str(tiny_world), "--out",
                 str(tmp_path / "c"), "--descriptions", str(missing), "--no-progress", *SMALL])
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]   # (MiniLM's loading bar)
    assert code == 2 and len(err) == 1 and "nope.jsonl: description file not found" in err[0]
    with pytest.raises(ValueError, match="mask must be one of"):
        ClaverConfig(mask="diagonal")
    with pytest.raises(ValueError, match="prompts must be one of"):
        ClaverConfig(prompts="llm")
    assert "claver" in METHODS
