"""Theory vs simulation overlays, critical ratios and phase diagrams: see the open issues."""
