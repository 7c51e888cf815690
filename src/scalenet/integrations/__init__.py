"""scalenet.integrations."""
