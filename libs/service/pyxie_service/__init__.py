"""pyxie-service."""
