"""The Pulumi program that turns one tenant spec into one stack (`main: infra/` in Pulumi.yaml).

Modules here import pulumi at top level; the CLI imports them only inside a command's `run()`.
"""
