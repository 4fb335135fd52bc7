"""The embedding model: the bundled MiniLM and the backends that run it."""
