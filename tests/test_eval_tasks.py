"""Downstream tasks: an oracle scores perfectly, a model that ties everything scores nothing
(ties count against it), the Action World sets are built right, and bad user files are refused by row."""

import hashlib
import json

import pytest
import torch
import torch.nn.functional as F

from actionkit.backbones.protocol import TextFeatures
from actionkit.data.manifest import ManifestError, read_manifest
from actionkit.eval import tasks as T
from actionkit.eval.run import TASKS, evaluate
from actionkit.features.embeddings import ClipEmbeddings
from actionkit.scoring import CosineScoring
from actionkit.tasksets import TaskFiles, task_sets
from actionkit.eval.sets import read_class_list, read_counterfactuals, read_mcqa
from actionkit.world import downstream as world
from actionkit.world.vocabulary import verbs

D = 32


class HashText(CosineScoring):
    """A text side only: each distinct text gets its own fixed random unit vector."""

    def encode_text(self, texts):
        vecs = []
        for t in texts:
            seed = int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)
            vecs.append(torch.randn(D, generator=torch.Generator().manual_seed(seed)))
        pooled = F.normalize(torch.stack(vecs), dim=-1)
        return TextFeatures(tokens=pooled[:, None], mask=torch.ones(len(texts), 1, dtype=torch.bool), pooled=pooled)


@pytest.fixture(scope="module")
def world_records(tiny_world):
    return read_manifest(tiny_world / "manifest.jsonl")


def test_oracle_is_perfect_and_a_model_of_ties_gets_nothing(world_records):
    model, records = HashText(), world_records[:30]
    captions = [r.caption for r in records]
    oracle = T.embed(model, captions)
    constant = torch.zeros(len(records), D)        # every similarity 0: all ties
    r = T.retrieval(model, oracle, captions)
    assert r["v2t_R@1"] == 1.0 and r["t2v_R@1"] == 1.0 and r["v2t_MnR"] == 1.0
    worst = T.retrieval(model, constant, captions)
    assert worst["v2t_R@1"] == 0.0 and worst["v2t_MnR"] == len(set(captions))

    rc = world.rcad_items(records)
    assert T.rcad(model, oracle, rc)["R@1"] == 1.0
    n_verbs = len(verbs())
    assert T.rcad(model, constant, rc) == {"R@1": 0.0, "MnR": float(n_verbs), "candidates": n_verbs, "n": 30}

    items = world.mcqa_items(records, seed=0)
    answers = T.embed(model, [f"{it.question} {it.candidates[it.answer]}" for it in items])
    m = T.multiple_choice(model, answers, items)
    assert m["accuracy"] == m["accuracy_action"] == m["accuracy_object"] == 1.0
    assert T.multiple_choice(model, torch.zeros(len(items), D), items)["accuracy"] == 0.0

    present = sorted({r.verb for r in records})
    labels = torch.tensor([present.index(r.verb) for r in records])
    names = [world.class_name(v) for v in present]
    classes = T.class_embeddings(model, names)
    z = T.zero_shot(model, classes[labels], labels, names)
    assert z["top1"] == z["mean_class"] == 1.0
    assert T.zero_shot(model, constant, labels, names)["top1"] == 0.0
    assert T.video_to_action(model, classes[labels], labels, names)["R@1"] == 1.0


def test_few_shot_learns_separable_classes_and_is_seeded():
    torch.manual_seed(0)
    model, names = HashText(), ["a", "b", "c"]
    centres = F.normalize(torch.randn(3, D), dim=-1)
    labels = torch.arange(3).repeat_interleave(30)
    video = F.normalize(centres[labels] + 0.05 * torch.randn(90, D), dim=-1)
    out = T.few_shot(model, video, labels, names, shots=(2, 4), seeds=(0, 1))
    assert out["linear_2shot"] > 0.9 and out["adapter_4shot"] > 0.9
    assert out == T.few_shot(model, video, labels, names, shots=(2, 4), seeds=(0, 1))


def test_world_sets_are_built_from_the_records(world_records):
    r = world_records[0]
    assert world.verb_caption(r.verb, r) == r.caption
    assert world.class_name("open") == "opening the lid of a thing"
    rc = world.rcad_items([r])[0]
    assert len(rc.counterfactuals) == len(verbs()) - 1 and r.antonym_caption in rc.counterfactuals and r.caption not in rc.counterfactuals
    action, obj = world.mcqa_items([r], seed=3)
    assert action.type == "action" and obj.type == "object"
    for item in (action, obj):
        assert len(set(item.candidates)) == 5 and item.candidates[item.answer] == r.caption
    assert r.antonym_caption in action.candidates
    assert all(f"{r.colour} {r.object}" in c for c in action.candidates)


def test_evaluate_runs_every_task_on_the_world(tiny_world, tiny_backbone, world_records):
    sets = task_sets(world_records, tasks=TASKS)
    result = evaluate(tiny_backbone, world_records, tiny_world, TASKS, sets, workers=0, progress=False, shots=(2,),
                      fewshot_seeds=(0,))
    assert set(result.metrics) == set(TASKS)
    assert result.n_clips == 60 and not result.skipped
    assert result.metrics["rcad"]["candidates"] == len(verbs())
    assert result.metrics["zeroshot"]["classes"] == len({r.verb for r in world_records})
    assert result.metrics["mcqa"]["n"] == 120 and result.metrics["zeroshot"]["n"] == 60

    # A clip without features is skipped once, not embedded again for the questions that name it.
    from actionkit.features.clip_features import ClipFeatures

    partial = ClipFeatures.extract(tiny_backbone, world_records[1:], tiny_world, workers=0, progress=False)
    some = evaluate(tiny_backbone, world_records, tiny_world, ("retrieval", "mcqa", "rcad"), sets, features=partial,
                    workers=0, progress=False)
    assert [s.id for s in some.skipped] == [world_records[0].id] and some.n_clips == 59
    assert some.metrics["mcqa"]["n"] == 118 and some.metrics["rcad"]["n"] == 59

    # Through the same code path: a clip that is its caption's text embedding retrieves perfectly,
    # a model that ties everything gets the worst score on every ranking task.
    model = HashText()
    oracle = ClipEmbeddings(world_records, T.embed(model, [r.caption for r in world_records]))
    good = evaluate(model, world_records, tiny_world, TASKS, sets, embedded=oracle, shots=(2,), fewshot_seeds=(0,))
    assert good.metrics["retrieval"]["v2t_R@1"] == good.metrics["retrieval"]["t2v_R@1"] == 1.0
    assert good.metrics["rcad"]["R@1"] == 1.0
    ties = ClipEmbeddings(world_records, torch.zeros(len(world_records), D))
    bad = evaluate(model, world_records, tiny_world, TASKS, sets, embedded=ties, shots=(2,), fewshot_seeds=(0,))
    assert bad.metrics["zeroshot"]["top1"] == bad.metrics["zeroshot"]["mean_class"] == 0.0
    assert bad.metrics["video2action"]["R@1"] == 0.0 and bad.metrics["retrieval"]["v2t_R@1"] == 0.0
    assert bad.metrics["mcqa"]["accuracy"] == 0.0 and bad.metrics["rcad"]["R@1"] == 0.0


def test_bad_user_files_name_the_row(tmp_path, tiny_world, tiny_backbone, world_records, capsys):
    from collections import Counter

    from actionkit.cli import main

    counts = Counter({"open": 3, "close": 0})
    (tmp_path / "classes.txt").write_text("open\n\nfly\n")
    with pytest.raises(ManifestError, match=r"classes.txt:3: class 'fly' is not in the label set"):
        read_class_list(tmp_path / "classes.txt", {"open", "close"}, counts)
    (tmp_path / "classes.txt").write_text("open\n\nclose\n")
    with pytest.raises(ManifestError, match=r"classes.txt:3: class 'close' has no clips"):
        read_class_list(tmp_path / "classes.txt", {"open", "close"}, counts)

    rows = [{"id": "q1", "path": "a.mp4", "question": "what?", "candidates": ["x", "y", "z"], "answer": 1},
            {"id": "q2", "path": "b.mp4", "question": "what?", "candidates": ["x", "y"], "answer": 0,
             "num_candidates": 5}]
    (tmp_path / "qa.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(ManifestError, match=r"qa.jsonl:2: 2 candidates, fewer than the 5 declared"):
        read_mcqa(tmp_path / "qa.jsonl")
    with pytest.raises(ManifestError, match=r"qa.jsonl:1: 3 candidates, fewer than the 4 declared"):
        read_mcqa(tmp_path / "qa.jsonl", num_candidates=4)
    (tmp_path / "qa.jsonl").write_text(json.dumps({**rows[0], "answer": 3}))
    with pytest.raises(ManifestError, match=r"qa.jsonl:1: answer must be an index"):
        read_mcqa(tmp_path / "qa.jsonl")
    (tmp_path / "cf.jsonl").write_text(json.dumps({"id": "v", "path": "v.mp4", "caption": "c", "counterfactuals": []}))
    with pytest.raises(ManifestError, match=r"cf.jsonl:1: field counterfactuals must be a non-empty list"):
        read_counterfactuals(tmp_path / "cf.jsonl")

    # through the CLI: exit code 2 and the row on stderr
    tiny_backbone.save(tmp_path / "bb")
    present = next(r.verb for r in world_records if r.split == "test")
    (tmp_path / "classes.txt").write_text(f"{present}\nfly\n")
    assert main(["eval", "--task", "zeroshot", "--data", str(tiny_world), "--weights", str(tmp_path / "bb"),
                 "--classes", str(tmp_path / "classes.txt"), "--workers", "0", "--no-progress"]) == 2
    assert "classes.txt:2: class 'fly' is not in the label set" in capsys.readouterr().err


def test_user_provided_sets_run_through_evaluate(tmp_path, tiny_world, tiny_backbone, world_records):
    records = [r for r in world_records if r.split == "test"][:6]
    qa = [{"id": r.id, "path": str(tiny_world / r.path), "question": "what happens?",
           "candidates": [r.caption, r.antonym_caption], "answer": 0, "type": "temporal"} for r in records]
    cf = [{"id": r.id, "path": str(tiny_world / r.path), "caption": r.caption,
           "counterfactuals": [r.antonym_caption]} for r in records]
    (tmp_path / "qa.jsonl").write_text("\n".join(json.dumps(x) for x in qa))
    (tmp_path / "cf.jsonl").write_text("\n".join(json.dumps(x) for x in cf))
    (tmp_path / "classes.txt").write_text("\n".join(sorted({r.verb for r in records})))
    verbs = sorted({r.verb for r in records})
    (tmp_path / "split2.txt").write_text("\n".join(verbs[:2]))
    tasks = ("zeroshot", "mcqa", "rcad")
    files = TaskFiles(classes=(tmp_path / "classes.txt", tmp_path / "split2.txt"), questions=tmp_path / "qa.jsonl",
                      counterfactuals=tmp_path / "cf.jsonl")
    result = evaluate(tiny_backbone, records, tiny_world, tasks, task_sets(records, files, tasks), workers=0,
                      progress=False)
    assert result.metrics["mcqa"]["n"] == 6 and "accuracy_temporal" in result.metrics["mcqa"]
    assert result.metrics["rcad"]["candidates"] == 2
    one = evaluate(tiny_backbone, records, tiny_world, ("zeroshot",),
                   task_sets(records, TaskFiles(classes=(tmp_path / "classes.txt",))), workers=0,
                   progress=False).metrics["zeroshot"]
    two = evaluate(tiny_backbone, records, tiny_world, ("zeroshot",),
                   task_sets(records, TaskFiles(classes=(tmp_path / "split2.txt",))), workers=0,
                   progress=False).metrics["zeroshot"]
    both = result.metrics["zeroshot"]
    assert both["splits"] == 2 and both["top1"] == pytest.approx((one["top1"] + two["top1"]) / 2)
    assert both["top1_splits_std"] == pytest.approx(abs(one["top1"] - two["top1"]) / 2)


def test_eval_and_finetune_cli(tiny_world, tiny_backbone, tmp_path, capsys):
    from actionkit.cli import main

    tiny_backbone.save(tmp_path / "bb")
    common = ["--data", str(tiny_world), "--weights", str(tmp_path / "bb"), "--workers", "0", "--no-progress"]
    assert main(["extract", *common, "--out", str(tmp_path / "c")]) == 0
    assert main(["patch", *common, "--features", str(tmp_path / "c"), "--out", str(tmp_path / "p"), "--epochs", "1",
                 "--batch-size", "8", "--latents", "4", "--dim", "16", "--heads", "2"]) == 0
    capsys.readouterr()
    few = ["--shots", "2", "--fewshot-seeds", "1"]
    assert main(["eval", *common, *few, "--split", "all", "--features", str(tmp_path / "c"), "--patcher",
                 str(tmp_path / "p"), "--out", str(tmp_path / "e.json")]) == 0
    printed = capsys.readouterr().out
    assert "| task | metric | patched |" in printed and "| rcad | R@1 |" in printed
    report = json.loads((tmp_path / "e.json").read_text())
    assert set(report["models"]["patched"]) == {"zeroshot", "fewshot", "retrieval", "video2action", "mcqa", "rcad"}
    assert main(["finetune", *common, *few, "--features", str(tmp_path / "c"), "--patcher", str(tmp_path / "p"),
                 "--out", str(tmp_path / "f"), "--epochs", "1", "--batch-size", "8", "--task", "retrieval,rcad"]) == 0
    fused = json.loads((tmp_path / "f" / "eval_test.json").read_text())["models"]["fused"]
    assert set(fused) == {"retrieval", "rcad"} and (tmp_path / "f" / "heads.safetensors").is_file()
    assert main(["eval", *common, "--task", "nope"]) == 2
    assert "unknown task(s) nope" in capsys.readouterr().err
