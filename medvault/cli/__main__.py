"""`python -m medvault.cli`."""

import sys

from medvault.cli import main

sys.exit(main())
