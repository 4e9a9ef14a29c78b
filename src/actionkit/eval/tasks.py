"""The downstream tasks, on clip embeddings already computed by any model of the protocol.

Every function takes the model (for its text side and its own scoring: ``model.similarity``,
``model.clip_vector``), its clip representations ``video [N, ...]`` and the task's labels or
texts, and returns a flat dict of metrics. Texts are embedded once per distinct string.
"""

from __future__ import annotations

import statistics

import numpy as np
import torch
import torch.nn.functional as F

from actionkit.backbones.protocol import VideoTextModel
from actionkit.eval.metrics import mean_class_accuracy, positive_ranks, rank_metrics, sample_episodes, topk_accuracy
from actionkit.eval.sets import MCQItem, RCADItem
from actionkit.probes.actionbench import encode_texts

# Prompt templates averaged into one class embedding (CLIP-style prompt ensembling).
TEMPLATES: tuple[str, ...] = ("{}", "a video of {}", "a clip showing {}")
SHOTS: tuple[int, ...] = (2, 4, 8, 16)


def embed(model: VideoTextModel, texts: list[str]) -> torch.Tensor:
    """Pooled text embeddings ``[len(texts), D]`` in order."""
    table = encode_texts(model, texts)
    return torch.stack([table[t] for t in texts])


def class_embeddings(model: VideoTextModel, class_names: list[str], templates: tuple[str, ...] = TEMPLATES) -> torch.Tensor:
    """``[C, D]``: per class the normalised mean of its normalised prompt embeddings."""
    prompts = [t.format(name) for name in class_names for t in templates]
    e = F.normalize(embed(model, prompts), dim=-1).view(len(class_names), len(templates), -1)
    return F.normalize(e.mean(dim=1), dim=-1)


def class_scores(model: VideoTextModel, video: torch.Tensor, class_names: list[str],
                 templates: tuple[str, ...] = TEMPLATES) -> torch.Tensor:
    """``[Nv, C]``: the model's own class scoring if it has one (``class_scores(video, names)``
    not None, e.g. CLAVER's mean of per-view probabilities over its interpretive prompts), else
    the cosine to the prompt-ensembled class embeddings."""
    own = getattr(model, "class_scores", None)
    scores = own(video, class_names) if own is not None else None
    return model.similarity(video, class_embeddings(model, class_names, templates)) if scores is None else scores


def zero_shot(model: VideoTextModel, video: torch.Tensor, labels: torch.Tensor, class_names: list[str],
              templates: tuple[str, ...] = TEMPLATES) -> dict[str, float]:
    """Top-1 / top-5 / mean-class accuracy of class-name prompts (``labels`` index ``class_names``)."""
    scores = class_scores(model, video, class_names, templates)
    return {"top1": topk_accuracy(scores, labels, 1), "top5": topk_accuracy(scores, labels, min(5, len(class_names))),
            "mean_class": mean_class_accuracy(scores, labels), "classes": len(class_names),
            "n": len(labels)}


def _linear_probe(clip_vectors: torch.Tensor, labels: torch.Tensor, support: list[int], query: list[int]) -> float:
    """Logistic regression on one vector per clip ``[N, D]`` (the model's ``clip_vector``)."""
    from sklearn.linear_model import LogisticRegression

    x = clip_vectors.numpy()
    clf = LogisticRegression(max_iter=2000, C=10.0).fit(x[support], labels[support].numpy())
    return float(np.mean(clf.predict(x[query]) == labels[query].numpy()))


def _prompt_adapter(model: VideoTextModel, video: torch.Tensor, labels: torch.Tensor, support: list[int],
                    query: list[int], text: torch.Tensor, steps: int = 100, lr: float = 1e-2) -> float:
    """Class weights initialised from the prompt embeddings (the zero-shot classifier) and
    fine-tuned on the support set; the clip side stays frozen."""
    weights = torch.nn.Parameter(text.clone())
    optimizer = torch.optim.Adam([weights], lr=lr)
    x, y = video[support], labels[support]
    with torch.enable_grad():
        for _ in range(steps):
            loss = F.cross_entropy(model.similarity(x, F.normalize(weights, dim=-1)) / 0.07, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        scores = model.similarity(video[query], F.normalize(weights, dim=-1))
    return float((scores.argmax(dim=1) == labels[query]).float().mean())


def few_shot(model: VideoTextModel, video: torch.Tensor, labels: torch.Tensor, class_names: list[str],
             shots: tuple[int, ...] = SHOTS, seeds: tuple[int, ...] = (0, 1, 2), n_query: int = 15,
             modes: tuple[str, ...] = ("linear", "adapter")) -> dict[str, float]:
    """K-shot accuracy over the classes of ``labels``, one episode per seed: mean and std."""
    text = class_embeddings(model, class_names)
    clip_vectors = model.clip_vector(video)
    out: dict[str, float] = {}
    for k in shots:
        episodes = [sample_episodes(labels.tolist(), k, n_query, 1, seed)[0] for seed in seeds]
        for mode in modes:
            runs = []
            for ep in episodes:
                # relabel to the episode's classes (a class without a query was left out)
                remap = {c: i for i, c in enumerate(ep.classes)}
                y = torch.tensor([remap.get(int(c), -1) for c in labels])
                if mode == "linear":
                    runs.append(_linear_probe(clip_vectors, y, ep.support, ep.query))
                else:
                    runs.append(_prompt_adapter(model, video, y, ep.support, ep.query, text[ep.classes]))
            out[f"{mode}_{k}shot"] = statistics.fmean(runs)
            out[f"{mode}_{k}shot_std"] = statistics.pstdev(runs)
    return out


def retrieval(model: VideoTextModel, video: torch.Tensor, captions: list[str]) -> dict[str, float]:
    """Video-to-text over the distinct captions and text-to-video over the clips: R@1/5/10, MdR, MnR.

    Clips sharing a caption are all positives of that caption (and it of each of them).
    """
    distinct = list(dict.fromkeys(captions))
    index = {c: i for i, c in enumerate(distinct)}
    ids = torch.tensor([index[c] for c in captions])
    scores = model.similarity(video, embed(model, distinct))            # [N, U]
    positives = ids[:, None] == torch.arange(len(distinct))[None, :]
    v2t = rank_metrics(positive_ranks(scores, positives))
    t2v = rank_metrics(positive_ranks(scores.t(), positives.t()))
    return {**{f"v2t_{k}": v for k, v in v2t.items()}, **{f"t2v_{k}": v for k, v in t2v.items()}}


def video_to_action(model: VideoTextModel, video: torch.Tensor, labels: torch.Tensor,
                    class_names: list[str]) -> dict[str, float]:
    """Rank the clip's action text (template level, as SSv2-template: "opening the lid of a
    thing") among all classes' texts, as they are: no prompt ensembling, unlike ``zero_shot``.
    The label level (SSv2-label: the caption with its objects) is ``retrieval``'s v2t."""
    scores = model.similarity(video, class_embeddings(model, class_names, templates=("{}",)))
    positives = torch.zeros_like(scores, dtype=torch.bool)
    positives[torch.arange(len(labels)), labels] = True
    return rank_metrics(positive_ranks(scores, positives), ks=(1, 5))


def multiple_choice(model: VideoTextModel, video: torch.Tensor, items: list[MCQItem]) -> dict[str, float]:
    """Accuracy of picking the answer by similarity of the clip to "question answer" (a tie
    with a wrong candidate counts as wrong); overall and by question type."""
    if not items:
        raise ValueError("multiple-choice: no questions to score")
    texts = [f"{it.question} {c}" for it in items for c in it.candidates]
    table = encode_texts(model, texts)
    correct, kinds = [], []
    for v, it in zip(video, items):
        cand = torch.stack([table[f"{it.question} {c}"] for c in it.candidates])
        scores = model.similarity(v[None], cand)
        positives = torch.zeros_like(scores, dtype=torch.bool)
        positives[0, it.answer] = True
        correct.append(bool(positive_ranks(scores, positives)[0] == 1))
        kinds.append(it.type)
    out = {"accuracy": float(np.mean(correct)), "n": len(items)}
    for kind in sorted(set(kinds)):
        out[f"accuracy_{kind}"] = float(np.mean([c for c, k in zip(correct, kinds) if k == kind]))
    return out


def rcad(model: VideoTextModel, video: torch.Tensor, items: list[RCADItem]) -> dict[str, float]:
    """Rank of the true caption among itself and its counterfactuals: R@1 and mean rank."""
    if not items:
        raise ValueError("RCAD: no items to score")
    table = encode_texts(model, [t for it in items for t in (it.caption, *it.counterfactuals)])
    ranks = []
    for v, it in zip(video, items):
        cand = torch.stack([table[t] for t in (it.caption, *it.counterfactuals)])
        scores = model.similarity(v[None], cand)
        positives = torch.zeros_like(scores, dtype=torch.bool)
        positives[0, 0] = True
        ranks.append(positive_ranks(scores, positives)[0])
    m = rank_metrics(torch.stack(ranks), ks=(1,))
    return {"R@1": m["R@1"], "MnR": m["MnR"], "candidates": 1 + len(items[0].counterfactuals), "n": len(items)}
