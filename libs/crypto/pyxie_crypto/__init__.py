"""pyxie-crypto."""
