"""An example service built on the kit; the kit's tests run against it."""

from pyxie_service.example._servicer import (
    CRASH_MESSAGE,
    ECHO_SERVICE_NAME,
    FAILURES,
    EchoClient,
    EchoServicer,
    echo_registration,
)
from pyxie_service.example.settings import ExampleSettings

__all__ = [
    "CRASH_MESSAGE",
    "ECHO_SERVICE_NAME",
    "FAILURES",
    "EchoClient",
    "EchoServicer",
    "ExampleSettings",
    "echo_registration",
]
