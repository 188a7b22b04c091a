"""pyxie-protogen."""
