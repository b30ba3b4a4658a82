"""``python -m metatomic.torch``: the ``metatomic`` command"""

import sys

from ._cli import main

sys.exit(main())
