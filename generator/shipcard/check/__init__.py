"""shipcard check: files → objects → schema + rules → findings → reporters."""
