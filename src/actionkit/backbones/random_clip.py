"""Random-weight CLIP checkpoints saved locally, for tests and benchmarks (nothing downloaded).

``save_random_clip`` writes a ``CLIPModel`` of the given size with a byte-level CLIP BPE
tokenizer into a folder that ``hf-clip:<folder>`` loads like any real checkpoint.
``VIT_B_16`` is the vision tower of OpenAI's ViT-B/16 CLIP (86M parameters, 224 px, 196
patches of 16 px); its features are random, its cost is the real one.
"""

from __future__ import annotations

from pathlib import Path

import torch

VIT_B_16 = dict(image_size=224, patch_size=16, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                num_attention_heads=12)
VIT_B_16_TEXT = dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8)


def byte_level_clip_tokenizer():
    """A CLIP BPE tokenizer over the 256 byte symbols (and their ``</w>`` forms) with two merges."""
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for tok in chars + [c + "</w>" for c in chars] + ["th", "the</w>", "<|startoftext|>", "<|endoftext|>"]:
        vocab[tok] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[("t", "h"), ("th", "e</w>")])


def save_random_clip(directory: Path | str, vision: dict, text: dict, projection_dim: int, seed: int = 0,
                     model_class: str = "CLIPModel", **config) -> Path:
    """Save a random ``CLIPModel`` (or ``XCLIPModel``) with ``vision``/``text`` config fields."""
    import transformers

    torch.manual_seed(seed)
    tok = byte_level_clip_tokenizer()
    text = dict(vocab_size=len(tok), max_position_embeddings=32, bos_token_id=tok.bos_token_id,
                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **text)
    config_cls = getattr(transformers, model_class.replace("Model", "Config"))
    model = getattr(transformers, model_class)(config_cls(text_config=text, vision_config=vision,
                                                          projection_dim=projection_dim, **config))
    directory = Path(directory)
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory
