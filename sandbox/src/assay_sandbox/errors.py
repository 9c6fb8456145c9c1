"""Errors of the sandbox itself (a hostile program never raises in the caller: it gets a result)."""

from __future__ import annotations

from assay import AssayError


class SandboxError(AssayError):
    """Base class of assay_sandbox's errors (an `assay.AssayError`)."""


class SandboxUnavailable(SandboxError):
    """A backend cannot start here (no Docker engine, a required isolation layer missing)."""


class WorkerLost(SandboxError):
    """A worker stopped answering or died; the pool replaces it and reports an ``error`` result."""
