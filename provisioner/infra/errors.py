"""The program's own failure: a message for the operator, not a traceback."""

from __future__ import annotations

import pulumi

from provisioner.errors import ProvisionerError


class StackError(pulumi.RunError, ProvisionerError):
    """Pulumi prints a RunError's message without a traceback; the CLI prints a
    ProvisionerError the same way, so one class serves `pulumi up` and `provisioner explain`."""
