"""Symbolic derivations of sections 2–3 and Appendices A–B of [A] (sympy).

[A] D. Lee, H.-S. Lee, J. Yi, "Bulk–boundary decomposition of neural networks".

- :mod:`.jets`        the one construction: jet variables in the bases (W, z) and (W, b), the
                      Lagrangian (5)-(7), momenta, Euler–Lagrange expressions (14), Legendre transforms
- :mod:`.lagrangian`  the recursion (1), eq. (5), the change of variables (6), the split (7)
- :mod:`.eom`         the printed equations (4), (15), (23), (28) and the equivalence (W, z) ⇔ (W, b)
- :mod:`.hamiltonian` the printed (16), the shift between (8) and (16) for a moving input
- :mod:`.continuity`  exact off-shell proofs of the energy identities (17), (19), (20), (25), (30)
- :mod:`.coupling`    coupling graph (Fig. 1), locality, translation symmetry m -> m + 1
- :mod:`.field`       the local architecture of Fig. 3 and the lattice expansion (33)-(35)
"""
from bbdlib.bulk_boundary.symbolic.jets import Jets, jets  # noqa: F401
from bbdlib.bulk_boundary.symbolic.lagrangian import Decomposition, decompose  # noqa: F401
