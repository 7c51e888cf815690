"""The analysis layer: what a network costs, and tables of the zoo and the catalogue.

- :mod:`.report`: ``Profile`` and ``LayerRow``, the figures and their tables;
- :mod:`.counting`: the analytic profile, summed over the layer plan;
- :mod:`.measure`: the measured profile (fvcore, ``FlopCounterMode``);
- :mod:`.profile`: ``profile()``, for a model, a config or a zoo name;
- :mod:`.tables`: the zoo and the published weights as Markdown.
"""
