"""``python -m core.datahealth``: see :mod:`core.datahealth.run`."""

import sys

from core.datahealth.run import main

sys.exit(main())
