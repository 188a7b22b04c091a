"""The PEM says once at start whether the socket tracer's hot modules run compiled or pure."""

from pathlib import Path

import pyxie_stirling
import structlog
from pyxie_pem.app import log_mypyc_status
from pyxie_stirling._mypyc_guard import HOT_MODULES, MANIFEST_NAME


def test_the_start_log_line_names_the_mode_and_every_hot_module() -> None:
    built = (Path(pyxie_stirling.__file__).parent / MANIFEST_NAME).exists()
    mode = "compiled" if built else "pure"  # compiled only after `make mypyc` / in the image
    with structlog.testing.capture_logs() as logs:
        log_mypyc_status()
    assert len(logs) == 1
    (entry,) = logs
    assert entry["event"] == f"socket tracer modules: {mode}"
    assert entry["mode"] == mode
    assert sorted(entry["compiled"] + entry["pure"]) == sorted(HOT_MODULES)
    assert entry["compiled" if built else "pure"] == list(HOT_MODULES)
    assert entry["log_level"] == "info"
