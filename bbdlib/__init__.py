"""bbdlib: the numerical core of the companion book to

A. Lee, Lee, Yi, "Bulk–boundary decomposition of neural networks" (arXiv:2511.02003), and
B. Kukleva, Vanchurin, "Dataset-learning duality and emergent criticality" (arXiv:2405.17391).

Modules are small and named after the concept they implement; chapters import them.
"""
__version__ = "0.1.0"
