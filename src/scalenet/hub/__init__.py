"""The hub layer: files from the Hugging Face Hub and URLs, saves and pushes, model cards,
``from_pretrained``.

- :mod:`.fetch`: a file of a Hub repository (checked names, failing fast offline);
- :mod:`.urls`: a file at a URL (cache, published hashes, ``SCALENET_WEIGHTS_MIRROR``);
- :mod:`.published`: a catalogue record's weights as a state dict in scalenet's names;
- :mod:`.card`: the model card;
- :mod:`.save`: ``save_pretrained`` and ``push_to_hub``;
- :mod:`.load`: ``from_pretrained``.
"""
