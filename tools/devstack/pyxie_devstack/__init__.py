"""pyxie-devstack."""
