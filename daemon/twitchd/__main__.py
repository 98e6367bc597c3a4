"""``python -m twitchd`` is the ``twitchd`` command."""

import sys

from twitchd.cli import main

sys.exit(main())
