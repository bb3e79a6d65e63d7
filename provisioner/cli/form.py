"""`provisioner form`: serve the "Nuevo cliente" form on this machine; "Guardar" opens a pull
request adding the tenant file (docs/form.md). Every refusal (no git remote, no token, an
invalid reseller file) comes before the server starts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# the names a browser on this machine uses for it; the Host allow-list takes these only
LOOPBACK = ("127.0.0.1", "localhost")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8765,
                        help="port (default: 8765; 0 picks a free one)")
    parser.add_argument("--remote", default="origin", help="git remote to push to "
                        "(default: origin)")
    parser.add_argument("--base", default=None, help="branch the pull request targets "
                        "(default: the remote's default branch, else the current branch)")
    parser.add_argument("--github-repo", default=None, metavar="OWNER/NAME",
                        help="GitHub repository of the pull request (default: from the "
                             "remote's URL)")
    parser.add_argument("--index", type=Path, default=None, metavar="PATH",
                        help="padrón index for the RUC lookup (default: "
                             "$PROVISIONER_PADRON_INDEX or ~/.cache/provisioner/padron.sqlite3)")
    from provisioner.cli import exit_codes

    parser.epilog = ("GITHUB_TOKEN: a token that may push and open pull requests; "
                     "PROVISIONER_GITHUB_API: another API base URL (GitHub Enterprise); "
                     + exit_codes.epilog("form"))


def run(args: argparse.Namespace) -> int:
    import secrets
    import socket

    from provisioner.errors import SpecErrors, UsageError
    from provisioner.form.github import GitHub, repository_of
    from provisioner.form.gitwrite import author_defaults, find_target
    from provisioner.form.web import FormState, build_app
    from provisioner.model.layout import find_root
    from provisioner.model.repository import load_repository

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: not a port number")
    root = args.repo.resolve() if args.repo else find_root(Path.cwd())
    repo = load_repository(root)
    if repo.reseller is None or repo.catalog is None:
        raise SpecErrors(sorted(repo.errors))
    target = find_target(root, args.remote, args.base)
    name = args.github_repo or repository_of(target.remote_url())
    if not name:
        raise UsageError(f"the remote {args.remote!r} is not a GitHub repository; name the "
                         "repository of the pull request with --github-repo OWNER/NAME")
    github = GitHub.from_environment(name)
    token = secrets.token_urlsafe(24)
    hosts = ["127.0.0.1", "localhost"]
    if args.host not in LOOPBACK:
        # a wildcard address has no one name, nor has an IPv6 one for Starlette's Host check
        hosts = ["*"] if ":" in args.host or args.host == "0.0.0.0" else [args.host, *hosts]
        print(f"warning: listening on {args.host}, not only this machine: anyone who can "
              "reach it sees the login page (the token still guards the form)",
              file=sys.stderr)
    state = FormState(root, target, github, token, index=args.index,
                      author=author_defaults(target), allowed_hosts=hosts)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    sock.listen(64)  # connections wait in the backlog until the server accepts them
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Nuevo cliente: http://{shown}:{port}/ (pull requests on {name}, "
          f"base {target.base})")
    print(f"login token: {token}")
    print("Ctrl-C stops the form", flush=True)
    _serve(build_app(state), sock)
    return 0


def _serve(app: object, sock: object) -> None:
    import uvicorn

    # no access log: nothing a request carries is written anywhere
    config = uvicorn.Config(app, log_level="warning", access_log=False,  # type: ignore[arg-type]
                            server_header=False)
    uvicorn.Server(config).run(sockets=[sock])  # type: ignore[list-item]
