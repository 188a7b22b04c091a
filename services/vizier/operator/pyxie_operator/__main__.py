"""`python -m pyxie_operator [down]`: reconcile the podman resource file until SIGTERM."""

import sys

from pyxie_operator.app import run_podman_operator

if __name__ == "__main__":
    raise SystemExit(run_podman_operator(sys.argv[1:]))
