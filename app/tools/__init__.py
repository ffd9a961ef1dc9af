"""Tools the agent calls: guarded SQL, product search, charts."""
