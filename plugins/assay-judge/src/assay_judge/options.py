"""Options shared by the judge rewards: endpoint, limits, retries, deadline, cache, sampling."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .client import Structured


class Endpoint(BaseModel):
    """Where the judge model is served: an OpenAI-compatible ``base_url`` (ending in ``/v1``),
    the ``model`` name, and the environment variable that holds the API key (none for a local
    server without auth)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(min_length=1)
    model: str = Field(min_length=1)
    api_key_env: str | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"{v!r} is not an http(s) URL; e.g. http://127.0.0.1:8000/v1")
        return v

    def api_key(self) -> str | None:
        if not self.api_key_env:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise ValueError(
                f"the judge's API key variable {self.api_key_env} is not set; export it, or drop "
                "`api_key_env` for a server without auth"
            )
        return key


class CrossCheck(BaseModel):
    """A second judge: fields left out are the first judge's."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    api_key_env: str | None = None


class JudgeSettings(Endpoint):
    """Everything about how verdicts are asked for, except what is asked (the rubric)."""

    concurrency: int = Field(default=16, ge=1, le=1024, description="requests in flight at most")
    rpm: float | None = Field(default=None, gt=0, description="requests per minute")
    tpm: float | None = Field(
        default=None, gt=0, description="tokens per minute (estimated, then corrected from usage)"
    )
    request_timeout: float = Field(default=60.0, gt=0, description="seconds per HTTP attempt")
    max_retries: int = Field(default=4, ge=0, le=20)
    backoff: float = Field(default=0.5, ge=0, description="first retry delay; doubles per retry")
    max_backoff: float = Field(default=30.0, ge=0)
    deadline: float = Field(
        default=300.0, gt=0, description="seconds per sample, all requests and retries"
    )
    cache: bool = True
    cache_path: str | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int = Field(default=1024, ge=1)
    seed: int | None = 0
    n: int = Field(
        default=1, ge=1, le=64, description="self-consistency: verdicts drawn per sample"
    )
    aggregate: Literal["mean", "median"] = "mean"
    structured: Structured = "auto"
    extra_body: dict[str, Any] = Field(default_factory=dict, description="merged into each request")
    system_prompt: str | None = None
    template: str | None = None
    keep_reply: int = Field(
        default=2000, ge=0, description="characters of the raw reply kept in details"
    )

    @model_validator(mode="after")
    def _sampling(self) -> JudgeSettings:
        if self.n > 1 and self.temperature == 0.0:
            raise ValueError(
                "n > 1 (self-consistency) needs temperature > 0, or every draw is the same"
            )
        return self

    def params(self, draw: int) -> dict[str, Any]:
        """Sampling parameters of draw ``draw`` (distinct seeds, so draws differ reproducibly)."""
        p: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.top_p is not None:
            p["top_p"] = self.top_p
        if self.seed is not None:
            p["seed"] = self.seed + draw
        return p
