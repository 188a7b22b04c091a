"""Pytest fixtures shared by every test in the workspace (registered by the root conftest)."""
