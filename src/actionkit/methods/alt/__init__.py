"""ALT (Chen et al.): align before adapt, entity-to-region alignment and an entity-queried video adapter."""
