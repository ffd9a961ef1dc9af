"""Pinned answers and dashboards: pin an answer's semantic query or verified SQL, run a tile
through the guard at every view (cached for a while), draw its chart."""
