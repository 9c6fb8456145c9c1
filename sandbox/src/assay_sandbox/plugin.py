"""The ``assay`` entry point of assay-sandbox: registers the ``process`` and ``docker`` backends."""

from __future__ import annotations

from typing import Any

import assay

from .process_backend import ProcessBackend


class _LazyDocker:
    """The docker backend class, imported (with the docker SDK) only when instantiated."""

    name = "docker"

    def __new__(cls, **options: Any) -> Any:
        from .docker_backend import DockerBackend

        return DockerBackend(**options)


@assay.hookimpl
def assay_register_sandboxes(register: Any) -> None:
    register(ProcessBackend, name="process")
    register(_LazyDocker, name="docker")
