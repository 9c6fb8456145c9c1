"""`Limits`: what one execution may use. Every field is enforced by the kernel, not by politeness.

- ``wall_s``: wall-clock seconds before the process tree is SIGKILLed (for ``run_cases``: the
  whole run; each case has ``case_wall_s``);
- ``cpu_s``: CPU seconds (``RLIMIT_CPU``; SIGXCPU, then SIGKILL one second later);
- ``memory_mb``: address space (``RLIMIT_AS``; an allocation past it raises ``MemoryError``);
- ``file_size_mb``: largest file the program may write (``RLIMIT_FSIZE``); the work dir itself is a
  tmpfs with its own size cap, so many small files cannot fill a disk either;
- ``open_files``: ``RLIMIT_NOFILE``; ``processes``: ``RLIMIT_NPROC`` (processes and threads of the
  sandbox uid, set after the uid switch);
- ``stdout_bytes`` / ``stderr_bytes``: output kept; one byte more and the run stops with status
  ``output_limit``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    """Resource limits of one execution (see the module docstring for how each is enforced)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wall_s: float = Field(5.0, gt=0, le=3600)
    cpu_s: float = Field(5.0, gt=0, le=3600)
    memory_mb: int = Field(512, ge=32)
    file_size_mb: int = Field(16, ge=0)
    open_files: int = Field(64, ge=8)
    processes: int = Field(32, ge=1)
    stdout_bytes: int = Field(1_048_576, ge=0)
    stderr_bytes: int = Field(65_536, ge=0)
