"""Downstream evaluation: zero-/few-shot recognition, retrieval, multiple-choice QA, RCAD."""
