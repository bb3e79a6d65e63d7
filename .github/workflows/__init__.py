"""These workflows, installed as package data `provisioner.workflows` (see pyproject.toml) so that
`provisioner init` copies them into a reseller's repository. GitHub reads only *.yml here."""
