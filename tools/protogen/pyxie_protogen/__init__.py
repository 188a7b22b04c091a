"""pyxie-protogen: regenerate the committed protobuf code under ``proto/``, or check it is fresh.

``python -m pyxie_protogen`` rewrites the generated files; ``--check`` only reports the files that
a fresh generation would change, add or delete, and exits 1 if there are any.
"""

from pyxie_protogen._generate import (
    GENERATED_SUFFIXES,
    ProtogenError,
    StaleReport,
    find_proto_root,
    generate,
    proto_sources,
    stale_files,
    write_generated,
)
from pyxie_protogen._main import main

__all__ = [
    "GENERATED_SUFFIXES",
    "ProtogenError",
    "StaleReport",
    "find_proto_root",
    "generate",
    "main",
    "proto_sources",
    "stale_files",
    "write_generated",
]
