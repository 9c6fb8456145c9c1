"""Root pytest configuration: Assay's own fixtures (`assay.testing`) for the whole suite.

`pytest_plugins` must live in the rootdir's conftest; tests stay under tests/.
"""

pytest_plugins = ["assay.testing"]
