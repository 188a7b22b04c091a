"""px.vizierconfigpb: the Vizier deployment spec (Pixie-compatible)."""
