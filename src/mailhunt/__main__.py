"""`python -m mailhunt`: the `mailhunt` command (see launch.py)."""

from __future__ import annotations

import sys

from mailhunt.launch import main

sys.exit(main())
