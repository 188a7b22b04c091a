"""pyxie-pxl."""
