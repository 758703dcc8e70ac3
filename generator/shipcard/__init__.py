"""shipcard: service cards in, GitOps repositories out."""

__version__ = "0.1.0"
