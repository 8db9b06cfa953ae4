"""The test suite: a package, so the shared helpers import as ``tests.helpers`` from any folder."""
