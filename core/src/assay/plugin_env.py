"""The environment switches of plugin loading (read when the registry is built).

- ``ASSAY_DISABLE_PLUGINS=a,b``: entry-point names (or distribution names) not to load; a name
  no installed plugin has is reported, since a typo would load the plugin meant to be blocked.
- ``ASSAY_STRICT_PLUGINS=1``: a plugin that fails to load is fatal instead of reported and skipped.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

__all__ = ["blocked_plugins", "strict_plugins", "warn_unmatched"]


def strict_plugins() -> bool:
    return os.environ.get("ASSAY_STRICT_PLUGINS", "").lower() in ("1", "true", "yes", "on")


def blocked_plugins() -> set[str]:
    raw = os.environ.get("ASSAY_DISABLE_PLUGINS", "")
    return {p.strip() for p in raw.split(",") if p.strip()}


def warn_unmatched(blocked: set[str], eps: Any) -> None:
    """A name in ASSAY_DISABLE_PLUGINS that no installed plugin has is most likely a typo: say so
    rather than load the plugin the user meant to block."""
    known = {ep.name for ep in eps} | {ep.dist.name for ep in eps if ep.dist}
    for name in sorted(blocked - known):
        warnings.warn(
            f"assay: ASSAY_DISABLE_PLUGINS names {name!r}, which no installed plugin has "
            f"(entry points and distributions: {', '.join(sorted(known))})",
            RuntimeWarning,
            stacklevel=4,
        )
