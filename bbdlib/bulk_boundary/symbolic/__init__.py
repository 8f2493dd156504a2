"""Symbolic derivations of sections 2–3 and Appendices A–B of [A] (sympy).

[A] D. Lee, H.-S. Lee, J. Yi, "Bulk–boundary decomposition of neural networks".

- :mod:`.lagrangian`  eq. (5) in (W, b), the change of variables (6), the split (7)
- :mod:`.eom`         damped Euler–Lagrange equations (14), (4), (15), (23), (28), equivalence
- :mod:`.hamiltonian` Legendre transforms (8), (16)
- :mod:`.continuity`  exact off-shell proofs of the energy identities (17), (19), (20), (25), (30)
- :mod:`.coupling`    coupling graph (Fig. 1), locality, translation symmetry m -> m + 1
- :mod:`.field`       the local architecture of Fig. 3 and the lattice expansion (33)-(35)
"""
from bbdlib.bulk_boundary.symbolic.lagrangian import Decomposition, Network, decompose, network  # noqa: F401
