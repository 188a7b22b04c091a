"""Fixtures of the operator tests live in the test modules (recorded API, podman plays)."""
