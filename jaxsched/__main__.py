"""``python -m jaxsched``: the command line."""

import sys

from jaxsched.tools._cli import main

if __name__ == "__main__":
  sys.exit(main())
