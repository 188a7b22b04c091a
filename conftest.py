"""Repository-wide pytest set-up: the shared fixtures live in pyxie_testing."""

pytest_plugins = ["pyxie_testing.fixtures"]
