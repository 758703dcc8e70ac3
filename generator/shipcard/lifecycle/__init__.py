"""Repository lifecycle: init, new, render of every card, upgrade (issue 6)."""
