"""The ``bichat`` command line."""
