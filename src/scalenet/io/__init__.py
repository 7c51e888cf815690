"""scalenet.io."""
