"""pyxie-pxl-runner: check a PxL script, or run it in-process over synthetic data.

    python -m pyxie_pxl_runner check px/http_data     # compile; print outputs and the plan
    python -m pyxie_pxl_runner run px/http_data       # execute with Carnot over fake data

The one package that composes the compiler (``pyxie_pxl``), the engine (``pyxie_carnot``) and
the synthetic cluster (``pyxie_synthetic``) outside the services.
"""

from ._local import run_local
from .cli import main

__all__ = ["main", "run_local"]
