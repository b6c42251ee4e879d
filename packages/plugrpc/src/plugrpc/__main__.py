"""``python -m plugrpc``: command-line tools (``python -m plugrpc plugins``)."""

from __future__ import annotations

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
