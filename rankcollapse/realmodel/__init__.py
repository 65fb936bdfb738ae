"""Rank collapse in real transformers: the paper's Section 4 (Figure 2).

``rankcollapse real-model`` runs a Hugging Face checkpoint (BERT, RoBERTa, ALBERT, DistilBERT,
GPT-2, XLNet: :mod:`rankcollapse.numerics.architectures`; by default all-MiniLM-L6-v2) on English
passages (``data/english.txt``) or given token ids and measures, layer by layer and per sequence,

* the token-mean ratio ``||X^l - 1 mean(X^l)^T||_{1,inf} / ||X^l||_{1,inf}`` (the paper's
  measure, between 1 and 2 times the next one: docs/real_model.md proves it), and
* a bracket of ``r(X^l) / ||X^l||_{1,inf}`` at most 1 % wide (on the first
  ``--bracket-sequences`` sequences),

for the four variants of the paper's Figure 2 (pure attention, attention + MLP, attention + skip,
full), with the checkpoint's weights and at the architecture's random initialisation. It also
measures the residual of products of attention matrices along random paths (Thm 2.1) and how far
the explicit bounds (docs/theory.md §4) are from what the weights do.

Modules by role: :mod:`.measure` (inputs and measurements), :mod:`.report` (JSON and tables),
:mod:`.plots` (figures), :mod:`.command` (the subcommand; :mod:`rankcollapse.cli` imports it,
and nothing here imports the command line).
"""
