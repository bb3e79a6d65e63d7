"""The app's own databases: what "Guardar" writes, written by us.

`account` turns a spec into store()'s rows (pure), `store` writes and reads them step by step,
`certificate` reads and checks the signing certificate, `plan` prints the SQL-level plan.
"""
