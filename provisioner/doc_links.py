"""Links from messages to the documentation of the version that runs.

An installed tool has no docs/, examples/ or scripts/ beside it, so a message that sends the
reader to a page cites that page's URL in the repository at this version's tag (the lead tags
each release `v<version>`). REPOSITORY is the one place the published address is written.
"""

from __future__ import annotations

from typing import Final

from provisioner import __version__

REPOSITORY: Final = "https://github.com/tenant-provisioner/tenant-provisioner"


def doc_url(path: str, section: str = "") -> str:
    """`path` (e.g. "docs/adopt.md", "examples/reseller.yaml") at this version; `section` a
    heading of the page, as GitHub anchors it."""
    anchor = ""
    if section:
        words = "".join(c for c in section.lower() if c.isalnum() or c in " -_")
        anchor = "#" + words.replace(" ", "-")
    return f"{REPOSITORY}/blob/v{__version__}/{path}{anchor}"
