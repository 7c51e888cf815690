"""The spec layer: a config and an input size turned into plain data before any tensor exists.

- :mod:`.templates`: what one layer is (``LayerSpec``) and each network as layer templates;
- :mod:`.plan`: the walk of an input size through them, the analytic counts, the affine rule;
- :mod:`.sizes`: which input sizes fit, the nearest ones, timm's input description;
- :mod:`.scaling`: configs scaled along depth, width and resolution, and fitted to a budget.

Imports only ``scalenet.config`` and the ground below it.
"""
