"""``python -m vowelseg_lab``: the ``vowelseg-lab`` command."""

import sys

from vowelseg_lab.cli import main

sys.exit(main())
