"""Frozen-backbone frame features: extraction, the on-disk cache, and the ClipFeatures view over it."""
