"""``wk init``: placeholder, filled in by the scaffold work."""
