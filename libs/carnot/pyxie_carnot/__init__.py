"""pyxie-carnot."""
