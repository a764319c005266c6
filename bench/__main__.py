"""`python -m bench`: the W1-W4 suite (see bench/run.py)."""

from __future__ import annotations

import sys

from bench.run import main

sys.exit(main())
