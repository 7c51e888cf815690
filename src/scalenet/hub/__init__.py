"""scalenet.hub.load."""
