"""pyxie-proto."""
