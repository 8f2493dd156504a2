"""Paper A: D. Lee, H.-S. Lee, J. Yi, *Bulk–boundary decomposition of neural networks* (arXiv:2511.02003)."""
