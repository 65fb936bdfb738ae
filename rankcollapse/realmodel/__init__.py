"""Rank collapse in real transformers: the paper's Section 4 (Figure 2).

``rankcollapse real-model`` runs a 6-layer BERT (see :mod:`rankcollapse.numerics.bert`) on English passages
(``data/english.txt``) and measures, layer by layer,

* ``ratio_token_mean`` = ``||X^l - 1 mean(X^l)^T||_{1,inf} / ||X^l||_{1,inf}`` (the paper's
  measure, between 1 and 2 times the next one: docs/real_model.md proves it), and
* ``ratio_exact`` = ``r(X^l) / ||X^l||_{1,inf}`` with the exact composite residual (one LP
  family per matrix, so only on the first ``--exact-sequences`` sequences),

for the four variants of the paper's Figure 2 (pure attention, attention + MLP, attention + skip,
full), with pretrained weights and at BERT's random initialisation. It also measures the residual
of products of attention matrices along random paths (Thm 2.1) and how far the explicit bounds
(THEORY 4) are from what the pretrained weights do.

Modules by role: :mod:`.measure` (inputs and measurements), :mod:`.report` (JSON and tables),
:mod:`.plots` (figures), :mod:`.command` (the subcommand; :mod:`rankcollapse.cli` imports it,
and nothing here imports the command line).
"""
