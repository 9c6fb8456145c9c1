"""``python -m assay_trl train ALGORITHM --config recipe.yaml``: ``assay train`` without the core CLI."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
