"""Test modules import their shared helpers from stirling_bpf_support (a repository-unique name)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
