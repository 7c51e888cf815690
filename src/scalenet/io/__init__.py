"""The io layer: weights on disk and into a model.

- :mod:`.safetensors`: the safetensors format, read and written without a copy;
- :mod:`.atomic`: all-or-nothing saves into a folder;
- :mod:`.state_dict`: reading a weights file (safetensors, or pickle only through
  ``torch.load(weights_only=True)``) into a state dict;
- :mod:`.folder`: a saved model folder: file names, metadata keys, reading it back;
- :mod:`.weights`: a state dict into a model (checked key by key, dtypes, input channels).
"""
