"""pyxie-types."""
