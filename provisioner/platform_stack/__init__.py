"""The platform program: what every tenant stack of a reseller reads, one stack per
environment (run by platform/__main__.py). Modules here import pulumi at top level; the CLI
imports them only inside a command's `run()`.

Not named `platform`: that is a standard-library module.
"""
