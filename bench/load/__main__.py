"""`python -m bench.load` (or `python bench/load`): the election-weekend load and faults bench."""

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/load`: the repository root onto the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.load.runner import main  # noqa: E402

sys.exit(main())
