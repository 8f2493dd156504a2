"""``python -m bbdlib run CHAPTER -p NAME VALUE --out DIR``: see :mod:`bbdlib.book.cli`."""
import sys

from bbdlib.book.cli import main

sys.exit(main())
