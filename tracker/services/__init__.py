"""Use cases: the only layer that combines the core, the domain and the adapters."""
