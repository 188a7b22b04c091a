"""The api's servicers and the logic they call."""
