"""``python -m bbdlib run CHAPTER -p NAME VALUE --out DIR``: see :mod:`bbdlib.run`."""
import sys

from .run import main

sys.exit(main())
