"""Controls (frames replaced) and clip groups (families, order-only) in the probes."""

import torch

from actionkit.data.manifest import ClipRecord, read_manifest
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.embeddings import ClipEmbeddings
from actionkit.probes.actionbench import clip_groups, report_blocks, run_actionbench, score_actionbench
from actionkit.probes.controls import CONTROLS
from conftest import TableText


def test_control_frame_orders():
    assert CONTROLS["last_frame"](4).tolist() == [3, 3, 3, 3]
    assert CONTROLS["first_frame"](4).tolist() == [0, 0, 0, 0]
    for t in (3, 4, 8):
        perm = CONTROLS["shuffled"](t)
        assert sorted(perm.tolist()) == list(range(t)) and torch.equal(perm, CONTROLS["shuffled"](t))   # seeded
        assert perm.tolist() not in (list(range(t)), list(range(t))[::-1])


def _record(i, verb, **extra):
    return ClipRecord(id=str(i), path=f"{i}.mp4", caption=f"c{i}", verb=verb, antonym_caption=f"a{i}",
                      object_replaced_caption=f"o{i}", split="test", extra=extra)


def test_groups_and_time_symmetric_clips_leave_video_reversal():
    records = [_record(0, "open", family="state"),
               _record(1, "spin_cw", family="dynamics", order_only=True, pair_kind="reversal"),
               _record(2, "out_back_right", family="dynamics", order_only=False, pair_kind="symmetric")]
    assert clip_groups(records) == {"dynamics": [False, True, True], "dynamics/order_only": [False, True, False],
                                    "dynamics/not_order_only": [False, False, True], "state": [True, False, False]}
    e = torch.eye(3)
    text = {f"{k}{i}": e[i] if k == "c" else -e[i] for i in range(3) for k in "cao"}
    result = score_actionbench(TableText(text), ClipEmbeddings(records, e, e.flip(0)))
    assert result.results["video_reversal"].n == 2 and result.results["action_antonym"].n == 3
    assert result.groups["dynamics/not_order_only"]["video_reversal"].n == 0
    assert result.groups["state"]["action_antonym"].n == 1


def test_controls_from_the_cache_equal_controls_from_the_videos(tiny_world, tiny_backbone):
    """The frozen mean-pooling backbone: every control of a clip keeps its frames as a set
    (shuffled) or shows one frame; from cached features or from videos, the same numbers."""
    records = read_manifest(tiny_world / "manifest.jsonl", split="test")
    features = ClipFeatures.extract(tiny_backbone, records, tiny_world, workers=0, progress=False)
    from_cache = run_actionbench(tiny_backbone, records, tiny_world, features=features, progress=False,
                                 controls=tuple(CONTROLS))
    from_videos = run_actionbench(tiny_backbone, records, tiny_world, workers=0, progress=False,
                                  controls=tuple(CONTROLS))
    for control in CONTROLS:
        for probe in ("action_antonym", "video_reversal"):
            a = from_cache.controls[control].results[probe].accuracy
            b = from_videos.controls[control].results[probe].accuracy
            assert abs(a - b) <= 1 / len(records), (control, probe)
    # mean pooling is order-blind: shuffling changes nothing, and one repeated frame reverses to itself
    shuffled = from_cache.controls["shuffled"].results
    assert shuffled["action_antonym"].accuracy == from_cache.results["action_antonym"].accuracy
    assert from_cache.controls["last_frame"].results["video_reversal"].accuracy == 0.5
    blocks = report_blocks({"backbone": from_cache})
    assert set(blocks["controls"]) == set(CONTROLS) and list(blocks["controls"]["last_frame"]["models"]) == ["backbone"]


def test_a_model_that_reads_only_the_last_frame_is_caught_by_the_control(tiny_world, tiny_backbone):
    """A model whose clip embedding is its last frame scores the same under last_frame and
    differently under first_frame: the control tells end-state models apart."""
    import torch.nn.functional as F

    class LastFrame:
        def __getattr__(self, name):
            return getattr(tiny_backbone, name)

        def video_from_frames(self, frame_tokens, frame_pooled):
            return F.normalize(frame_pooled[:, -1].float(), dim=-1)

    records = read_manifest(tiny_world / "manifest.jsonl", split="test")
    features = ClipFeatures.extract(tiny_backbone, records, tiny_world, workers=0, progress=False)
    r = run_actionbench(LastFrame(), records, tiny_world, features=features, progress=False, controls=tuple(CONTROLS))
    for probe in ("action_antonym", "object_replacement"):
        assert r.controls["last_frame"].results[probe].accuracy == r.results[probe].accuracy
    from actionkit.features.embeddings import embed_clips_orders

    e = embed_clips_orders(LastFrame(), records, tiny_world, {"clip": None, **CONTROLS}, features)
    assert torch.equal(e["last_frame"].video, e["clip"].video)              # what this model reads: unchanged
    assert not torch.allclose(e["first_frame"].video, e["clip"].video)      # the start state: another answer
