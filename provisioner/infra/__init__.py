"""The Pulumi program that turns one tenant spec into one stack (run by infra/__main__.py).

Modules here import pulumi at top level; the CLI imports them only inside a command's `run()`.
"""
