"""pyxie-table-store."""
