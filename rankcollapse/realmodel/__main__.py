"""``python -m rankcollapse.realmodel [options]`` = ``rankcollapse real-model [options]``."""

import sys

from rankcollapse.cli import main

sys.exit(main(["real-model", *sys.argv[1:]]))
