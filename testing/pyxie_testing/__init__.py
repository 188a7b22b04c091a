"""pyxie-testing."""
