"""shipcard pin: resolve image tags to digests against OCI registries."""
