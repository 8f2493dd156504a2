"""Dataset-learning duality (paper [B], Kukleva & Vanchurin).

The neural septuple, the duality map and its push-forward, the toy model, its jump map and
its criticality conditions.
"""
