"""Before the program imports pulumi and pulumi_aws (~1 s): start listing the stack's
tenants directory in a helper process (spec.listing.prefetch), so that its 50,000 stat calls
run on another core meanwhile. No pulumi import here.

The directory is guessed the way `config.read_stack_config` finds it without stack config
(the orchestrator's PROVISIONER_SPEC_ROOT, else the project's default); a stack whose
`specDir` is set elsewhere only loses the head start: `load_one` stops a helper listing
another directory and lists its own."""

from __future__ import annotations

import contextlib
import os

from provisioner.model.layout import SPEC_ROOT_ENV, project_dir_from_cwd, spec_dir_of
from provisioner.model.listing import prefetch


def run_program() -> None:
    """What a Pulumi project's infra/__main__.py runs (this repository's, and the one `init`
    writes): the listing's head start, then the program."""
    start_listing()
    from provisioner.infra.program import main

    main()


def start_listing() -> None:
    with contextlib.suppress(OSError):  # only a head start
        prefetch(spec_dir_of(project_dir_from_cwd(), os.environ.get(SPEC_ROOT_ENV)))
