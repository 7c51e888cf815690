"""scalenet.analysis."""
