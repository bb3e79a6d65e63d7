"""The program body: read the platform stack's settings, declare the platform, export exactly
the outputs the tenant stacks and CI read (provisioner/platform_outputs.py)."""

from __future__ import annotations

import pulumi

from provisioner.platform_outputs import ALL_OUTPUTS

from .component import Platform
from .settings import read_settings


def main() -> Platform:
    """Run by `pulumi up` in platform/ (through platform/__main__.py) and by the mock runs of
    tests and `provisioner platform explain`."""
    stack = pulumi.get_stack()
    settings = read_settings(pulumi.Config(), stack)
    platform = Platform(settings.prefix, settings)
    for name in ALL_OUTPUTS:
        pulumi.export(name, platform.outputs[name])
    return platform
