"""``python -m pyxie_stirling [--require-compiled]``: do the hot modules run mypyc-compiled?

Prints which of the socket tracer's hot modules load compiled and which pure; with
``--require-compiled`` exits 1 unless all are compiled (the PEM image build runs it).
"""

from ._mypyc_guard import main

raise SystemExit(main())
