"""`explain`: what a stack declares, from a mock run of the Pulumi program (no cloud, no CLI)."""
