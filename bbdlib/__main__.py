"""``python -m bbdlib {run,params,execute}``: see :mod:`bbdlib.book.cli`."""
import sys

from bbdlib.book.cli import main

if __name__ == "__main__":
    sys.exit(main())
