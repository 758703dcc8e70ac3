"""YAML for shipcard, one job a module (import from the submodules; this package holds no logic).

* `read`: text and YAML that may come from anyone: size and depth limits, located errors, fast
  positional reading of manifests (PyYAML's C parser);
* `roundtrip`: ruamel.yaml round-trip loading of files people own, such as service cards;
* `dump`: emitting generated YAML deterministically, and writing files atomically;
* `edit`: changing scalars of a file people own in its text, every other byte kept.
"""
