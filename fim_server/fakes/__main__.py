"""``python -m fim_server.fakes``: see :mod:`fim_server.fakes.cli`."""

import sys

from fim_server.fakes.cli import main

sys.exit(main())
