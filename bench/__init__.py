"""Haven's benchmark suite: load generator, target adapters, peers and scenarios."""
