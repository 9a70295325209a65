"""`python -m etl.tools.bench`: the bench's child process (see `etl.tools.bench.child`)."""

import sys

from etl.tools.bench.child import main

sys.exit(main())
