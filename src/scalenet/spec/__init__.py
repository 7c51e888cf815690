"""scalenet.spec."""
