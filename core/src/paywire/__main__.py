"""``python -m paywire`` runs the ``paywire`` command."""

import sys

from paywire._cli import main

sys.exit(main())
