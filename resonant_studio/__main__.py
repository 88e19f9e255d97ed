"""``python -m resonant_studio`` opens the studio window."""

import sys

from resonant_studio.app import main

sys.exit(main())
