"""``python -m plugrpc_tools``: run protoc-gen-plugrpc (what the console script runs)."""

from __future__ import annotations

import sys

from ._plugin import main

sys.exit(main())
