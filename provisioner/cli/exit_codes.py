"""What every command's exit status means: one table, read by each command's `--help` epilog
and printed into docs/exit-codes.md (tests/test_hostile_exit_codes.py compares them).

The common meanings are the same in every command: 0 done, 1 refused or failed (bad specs, an
unreachable server, a wrong password, nothing written unless said), 2 the command line (or a
secret missing from the environment), 70 a bug, 130 interrupted. Codes from 3 up are each
command's own. Stdlib only: imported while the parser is built.
"""

from __future__ import annotations

from typing import Final

OK: Final = 0
FAILED: Final = 1
USAGE: Final = 2
STEP_FAILED: Final = 3  # onboard: a step failed after earlier ones were written
DRIFT: Final = 3  # drift: drift found
INTERNAL: Final = 70  # EX_SOFTWARE (sysexits.h): a bug, the traceback with PROVISIONER_DEBUG=1
INTERRUPTED: Final = 130  # 128 + SIGINT, as shells report Ctrl-C

# the stack commands' 2: nothing run, the environment is wrong (provisioner/app/runner_reach.py)
NO_RUN: Final = ("usage, no Pulumi CLI, or in CI a runner with no way named to the app's "
                 "databases (nothing run)")

COMMON: Final[tuple[tuple[int, str], ...]] = (
    (INTERNAL, "internal error (a bug; PROVISIONER_DEBUG=1 shows the traceback)"),
    (INTERRUPTED, "interrupted (Ctrl-C)"),
)

TABLE: Final[dict[str, tuple[tuple[int, str], ...]]] = {
    "init": ((OK, "written (or up to date)"),
             (FAILED, "invalid values, a non-empty directory, a file --upgrade cannot read "
                      "or parse (nothing written), or stale files (--check)"),
             (USAGE, "usage error")),
    "doctor": ((OK, "every check passed, was skipped or only warned"),
               (FAILED, "a check failed"),
               (USAGE, "usage error")),
    "validate": ((OK, "valid (warnings allowed)"), (FAILED, "errors found"),
                 (USAGE, "usage error")),
    "schema": ((OK, "written"), (FAILED, "could not be written"), (USAGE, "usage error")),
    "render": ((OK, "rendered"), (FAILED, "invalid specs or a template failed"),
               (USAGE, "usage error")),
    "ruc import": ((OK, "imported (bad lines are skipped and reported)"),
                   (FAILED, "failed (the previous index is kept)"), (USAGE, "usage error")),
    "ruc lookup": ((OK, "found (a warning on stderr when not ACTIVO and HABIDO)"),
                   (FAILED, "not found or lookup failed"), (USAGE, "invalid RUC")),
    "check-sol": ((OK, "accepted (0125-0127; or nothing to check: internal environment)"),
                  (FAILED, "invalid specs"), (USAGE, "usage error"),
                  (3, "wrong SOL user or password (0101-0106)"),
                  (4, "user cannot send documents (0111-0113)"),
                  (5, "SUNAT unavailable after retries (0100, 0109, 0110, 0130-0138, 0200, "
                      "'Internal Error' faults, HTTP 401 and 5xx)"),
                  (6, "rejected without a reason (HTTP 200, empty body)"),
                  (7, "unreachable (DNS, connection, timeout, TLS)"),
                  (8, "malformed answer"), (9, "unexpected answer"),
                  (10, "no SOL password found")),
    "new": ((OK, "created"),
            (FAILED, "invalid values, an existing tenant or the account cap"),
            (USAGE, "usage error")),
    "plan": ((OK, "planned"),
             (FAILED, "invalid specs or a tenant's preview failed or was refused"),
             (USAGE, NO_RUN)),
    "apply": ((OK, "all succeeded"),
              (FAILED, "a tenant failed or was refused (later waves not run)"),
              (USAGE, NO_RUN),
              (4, "--require-tip: not the tip, or behind the marker (nothing applied)")),
    "ci": ((OK, "checked (spec-only prints review=true or false), may apply, or marker moved"),
           (FAILED, "git failed"), (USAGE, "usage error"),
           (4, "not the tip of the branch, or behind the last-applied marker")),
    "destroy": ((OK, "destroyed"), (FAILED, "failed or refused"), (USAGE, NO_RUN)),
    "drift": ((OK, "no drift"), (FAILED, "a check failed (results incomplete)"),
              (USAGE, NO_RUN), (DRIFT, "drift found")),
    "verify": ((OK, "all checks passed"), (FAILED, "mismatches found"), (USAGE, "usage")),
    "platform": ((OK, "declared, previewed or applied"),
                 (FAILED, "the program failed, or a replace or delete of a protected resource "
                          "was refused (nothing changed)"),
                 (USAGE, "usage error (or no Pulumi CLI)")),
    "form": ((OK, "served until stopped (Ctrl-C)"),
             (FAILED, "cannot start: a broken reseller.yaml, no git remote or no token"),
             (USAGE, "usage error")),
    "explain": ((OK, "declared"),
                (FAILED, "the program fails for this tenant (the message says why)"),
                (USAGE, "usage error")),
    "onboard": ((OK, "done (or nothing to change)"),
                (FAILED, "invalid specs, or refused by the app's databases (unreachable, "
                         "wrong password, missing tables, an account not ours): nothing "
                         "written"),
                (USAGE, "usage, or missing environment variables (all named at once): "
                        "nothing written"),
                (STEP_FAILED, "a step failed after earlier steps were written (the next run "
                              "continues from it)")),
    "adopt": ((OK, "every account adopted and the first apply changes nothing"),
              (FAILED, "some account differs from its spec or could not be adopted, or the "
                       "app's databases refused (unreachable, wrong password, missing "
                       "tables)"),
              (USAGE, "usage, a missing platform secret, or --set-secrets without the "
                      "Pulumi CLI: nothing written")),
}


def epilog(command: str) -> str:
    """`exit codes: 0 ..., 1 ...` for a command's --help."""
    rows = [*TABLE[command], *COMMON]
    return "exit codes: " + ", ".join(f"{code} {meaning}" for code, meaning in rows)


def markdown() -> str:
    """The table as docs/exit-codes.md shows it."""
    lines = ["| command | code | meaning |", "|---|---|---|"]
    for command, rows in TABLE.items():
        lines += [f"| `{command}` | {code} | {meaning} |" for code, meaning in rows]
    lines += [f"| every command | {code} | {meaning} |" for code, meaning in COMMON]
    return "\n".join(lines)
