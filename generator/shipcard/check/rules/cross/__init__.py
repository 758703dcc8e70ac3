"""Python rules of the built-in pack: one module per rule (see shipcard.check.rules.python)."""
