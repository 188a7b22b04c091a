"""pyxie-jwt."""
