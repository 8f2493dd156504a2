"""Dataset-learning duality (paper [B], Kukleva & Vanchurin): the neural septuple, the duality map, the toy model and its criticality conditions."""
