"""The agent's exceptions: one root, one class per way an agent must stop."""

from __future__ import annotations

__all__ = ["AgentError", "AgentExpiredError", "RegistrationTimeoutError"]


class AgentError(Exception):
    """Root of the errors that end an agent (the process then exits non-zero)."""


class RegistrationTimeoutError(AgentError):
    """The metadata service did not answer RegisterAgentRequest in time."""


class AgentExpiredError(AgentError):
    """The metadata service expired this agent (HeartbeatNack{reregister: false})."""
