"""Shared test configuration: Assay's own fixtures (register a plugin for one test, etc.)."""

pytest_plugins = ["assay.testing"]
