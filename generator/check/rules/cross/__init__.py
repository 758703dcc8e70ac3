"""Python rules of the built-in pack: one module per rule (see generator.check.rules.python)."""
