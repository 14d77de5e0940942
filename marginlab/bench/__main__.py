"""``python -m marginlab.bench`` (``make bench``)."""
import sys

from marginlab.bench.cli import main

sys.exit(main())
