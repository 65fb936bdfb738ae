"""The paper's training experiments (Section 4): path-length effectiveness and the circle.

``rankcollapse experiment paths --task sort|convex-hull|memorization`` trains a small
self-attention network (the official code's SAN: post-LN attention layers with skip
connections) and measures how well sums of sampled paths of each length predict (Thm 2.1);
``rankcollapse experiment circle`` trains one attention layer on points of a circle and applies
it recurrently. Training needs PyTorch (the ``experiments`` extra); the path evaluation runs
the trained weights as a :class:`rankcollapse.numerics.network.Network` in float64 through
:func:`rankcollapse.numerics.checks.paths.path_forward`, the code the Thm 2.1 check uses.

Modules: ``models`` (the torch SAN, its conversion, seeding), ``tasks`` (data and settings),
``paths`` (path evaluation), ``circle``, ``report`` (JSON, tables, plots), ``command`` (CLI).
Only ``command`` is imported at CLI start-up, and it imports torch only when a run starts.
"""
