"""Error classes of the TRL plugin, each saying what to do next."""

from __future__ import annotations

from assay.errors import AssayError


class TrainError(AssayError):
    """Base class of the TRL plugin's errors."""


class PipelineError(TrainError, ValueError):
    """The rewards given to a backend cannot be turned into TRL reward functions."""


class RecipeError(TrainError, ValueError):
    """A recipe (YAML config) or a ``--set`` override is invalid; the message names the key."""


class DatasetError(TrainError, ValueError):
    """The training data cannot be loaded or lacks the column a backend needs."""


class TrainerUnavailable(TrainError, ImportError):
    """A TRL trainer this backend wraps is missing from the installed TRL (experimental ones go
    without warning); the message names the TRL versions known to work."""


class NoPreferencePairs(TrainError, RuntimeError):
    """Every prompt's completions scored the same, so no (chosen, rejected) pair could be built."""


class NoAcceptedSamples(TrainError, RuntimeError):
    """STaR / RFT: the verifier accepted no sampled completion in any round, so there is nothing
    to fine-tune on."""
