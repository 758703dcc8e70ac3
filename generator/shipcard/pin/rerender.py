"""The services whose cards `pin` changed, re-rendered for the same transaction as the cards.

`pin` leaves the repository as `render` would: the pinned cards and their trees are committed
together (`shipcard.transaction`), so `render --check` and `check` find nothing stale after it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from shipcard.lifecycle.rendering import Options, Outcome, plan_repository, read_cards
from shipcard.lifecycle.state import read_states
from shipcard.settings import load_repo


def plan_rerender(root: Path, texts: dict[Path, str]) -> Outcome | None:
    """The render of each changed card (path → its pinned text) that a render state names, i.e. that
    was rendered before; None when there is none. A card never rendered is `render`'s to render first."""
    rendered = {state.card for state in read_states(root)}
    if not rendered:
        return None
    inputs = [replace(card, text=texts[card.path]) for card in read_cards(root, list(texts))
              if card.source in rendered]
    if not inputs:
        return None
    return plan_repository(root, inputs, load_repo(root),
                           Options(everything=True, whole_repository=False, jobs=os.cpu_count() or 1))
