"""``wk describe``: placeholder, filled in by the loader work."""
