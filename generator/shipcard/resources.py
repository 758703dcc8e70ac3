"""Where shipcard's packaged data lives.

`shipcard/_data/` holds the blueprints and the built-in policy pack. In a source checkout its
entries are links to the top-level `blueprints/` and `policies/`; the wheel carries the files.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "_data"


def data_dir(name: str) -> Path:
    """The packaged data folder `name` (`blueprints` or `policies`)."""
    return DATA_DIR / name
