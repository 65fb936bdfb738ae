"""rankcollapse: verify the rank-collapse theorems of Dong, Cordonnier & Loukas (ICML 2021).

``proofs`` states and derives the claims in SymPy, ``numerics`` computes and certifies them,
and this package is the command line on top (``rankcollapse --help``).
"""
