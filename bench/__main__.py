"""Entry point: `python -m bench [--sqlite] [--postgresql] [--scale full|small]`."""

import sys

from bench.run import main

sys.exit(main())
