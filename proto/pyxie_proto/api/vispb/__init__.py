"""px.vispb: live view layout and display specs (Pixie-compatible)."""
