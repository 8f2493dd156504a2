"""bbdlib: the numerical core of the companion book to

A. Lee, Lee, Yi, "Bulk–boundary decomposition of neural networks" (arXiv:2511.02003), and
B. Kukleva, Vanchurin, "Dataset-learning duality and emergent criticality" (arXiv:2405.17391).

Laid out like the book: :mod:`bbdlib.bulk_boundary` (paper A), :mod:`bbdlib.duality`
(paper B), :mod:`bbdlib.book` (the claims ledger, figure style, chapter execution, command
line and Sphinx extension), and a few modules both parts share (:mod:`bbdlib.validate`,
:mod:`bbdlib.activations`, :mod:`bbdlib.powerlaw`, :mod:`bbdlib.numerics`).  Each module is
named after the concept it implements; chapters import them.
"""
__version__ = "0.1.0"
