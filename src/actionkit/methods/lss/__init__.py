"""LSS (Ranasinghe et al., 2023): self-supervised adaptation in language-based action concept spaces."""
