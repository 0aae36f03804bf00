"""``python -m jaxsched``: the command line."""

import sys

from jaxsched._cli import main

if __name__ == "__main__":
  sys.exit(main())
