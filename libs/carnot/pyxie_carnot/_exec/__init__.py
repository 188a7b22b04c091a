"""Operators and the plumbing they share (private)."""
