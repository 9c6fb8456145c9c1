"""The version of the assay distribution: its one source (read by core/pyproject.toml too)."""

__version__ = "0.1.0"
