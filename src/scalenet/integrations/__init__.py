"""The integrations layer: scalenet in the tools users already have.

- :mod:`.timm_compat`: the registration with timm (what ``import timm`` runs, from data);
- :mod:`.timm_registry`: that data, ``timm_registry.json``;
- :mod:`.timm_build`: building models for timm's entrypoints, computing the data;
- :mod:`.inference`: a model folded and laid out for evaluation;
- :mod:`.export`: published weights as a ``save_pretrained`` folder.

Importing this package imports none of them: ``import timm`` loads the registration alone.
"""
