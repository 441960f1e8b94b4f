"""``python -m docstatus``: the ``docstatus`` command (for an environment whose scripts are not on
``PATH``)."""

import sys

from docstatus._cli import main

sys.exit(main())
