"""Kelvin's logic: the router, engine and agent wiring (`Kelvin`)."""

from .kelvin import RESULT_SINK_SERVICE, Kelvin, result_sink_registration

__all__ = ["RESULT_SINK_SERVICE", "Kelvin", "result_sink_registration"]
