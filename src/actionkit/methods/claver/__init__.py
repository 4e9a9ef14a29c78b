"""CLAVER (Yang et al.): Kronecker masks, the temporal transformer, the method."""
