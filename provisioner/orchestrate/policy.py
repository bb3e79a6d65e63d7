"""Guards and ordering: what may run, what must be acknowledged, and in which waves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from provisioner.app.creation_only import spec_warnings
from provisioner.doc_links import doc_url
from provisioner.orchestrate.changes import ChangeSet, StackChange
from provisioner.orchestrate.results import StackResult
from provisioner.orchestrate.scheduler import Job, Wave
from provisioner.orchestrate.spec_blobs import acknowledges_demo_history, environment_of, parsed

MOVING_A_DATABASE: Final = doc_url(
    "docs/data-safety.md", "Moving a tenant's database (tier, prefix or subdomain change)")

PRODUCTION = "production"
ACK_FIELD: Final = "acknowledge_new_database"
# The up of a tenant whose database moves: its retained resources are unprotected first, so
# the engine may drop the old ones from state (AutomationRunner.move_database).
MOVE_OPERATION: Final = "move_database"
PREVIEW_MOVE_OPERATION: Final = "preview_move"  # its plan: a preview that ignores protect


def demo_to_production_message(stack: str) -> str:
    return (f"{stack} moves from demo to production, but its demo documents, clients and series "
            "stay in its database (the form's help page recommends a fresh tenant for "
            "production). Create a new tenant instead, or set `acknowledge_demo_history: true` "
            f"in {stack}'s spec to proceed.")


def production_destroy_message(stack: str) -> str:
    return (f"{stack} is a production tenant: destroying it takes it offline (its DNS record "
            "goes; its database, secrets and generated values are kept, retain_on_delete). Not "
            "destroyed; run again with --allow-destroy-production if that is intended.")


def moves_to_production(change: StackChange) -> bool:
    return (change.action == "up" and change.old_text is not None
            and environment_of(change.old_text) == "demo"
            and environment_of(change.new_text) == PRODUCTION)


def was_production(change: StackChange) -> bool:
    """For a destroy, whether the spec at BASE was production (unknown counts as production:
    the guard must not be bypassed by an unreadable file)."""
    env = environment_of(change.old_text)
    return env is None or env == PRODUCTION


# -- database moves: a change after which the tenant's data is somewhere else -----------------


@dataclass(frozen=True)
class DatabaseMove:
    """A tenant whose database would be a different one after this change: another tier
    (pool <-> silo), another name (database_prefix, subdomain). `old`/`new` are identities,
    `<tier>:<name>`; `renamed_from` is the stack the tenant leaves on a subdomain rename."""

    stack: str
    old: str
    new: str
    why: str
    acknowledged: bool
    renamed_from: str | None = None

    def data_message(self) -> str:
        """What happens to the data, for the plan comment and the apply log."""
        where = ("a new RDS instance" if self.new.startswith("silo:")
                 else "a new schema on the shared MySQL server")
        kept = ("its RDS instance keeps running" if self.old.startswith("silo:")
                else "its schema stays on the shared MySQL server")
        return (f"{self.stack}'s database moves from {self.old} to {self.new} ({self.why}): "
                f"{where} is created EMPTY and the published config points the app at it; the "
                f"old database is not dropped ({kept}, retain_on_delete) and nothing is copied. "
                "Copy the data across right after the apply, before the tenant is used "
                f"({doc_url('scripts/copy-tenant-database.sh')}; "
                f"{MOVING_A_DATABASE}).")

    def blocked_message(self) -> str:
        return (f"{self.stack}: this change would give the tenant a new, empty database "
                f"({self.why}: {self.old} -> {self.new}); its data would stay behind in "
                f"{self.old}. Not run. If that is intended, set `{ACK_FIELD}: {self.new}` in "
                f"{self.stack}'s spec and copy the data as {MOVING_A_DATABASE} shows; or "
                "revert the change.")


_CATALOGS: dict[str, Any] = {}


def _plans_of(reseller: dict[str, Any]) -> dict[str, Any] | None:
    """The reseller's plan catalog, built once per distinct `plans:` list (a platform change
    asks for it once per tenant, 10,000 times)."""
    from provisioner.orchestrate.spec_blobs import reseller_catalog

    key = repr(reseller.get("plans"))
    if key not in _CATALOGS:
        try:
            _CATALOGS[key] = reseller_catalog({"plans": reseller.get("plans")}).plans
        except Exception:  # an invalid catalog: validation reports it
            _CATALOGS[key] = None
    return _CATALOGS[key]


def database_identity(tenant: Any, reseller: Any) -> str | None:
    """`<tier>:<database name>` from a tenant's and the reseller's parsed YAML (None when
    either is unreadable or names an unknown plan)."""
    from provisioner import naming
    from provisioner.model.models import ResellerSpec

    if not isinstance(tenant, dict) or not isinstance(reseller, dict):
        return None
    subdomain, plan = tenant.get("subdomain"), tenant.get("plan")
    if not isinstance(subdomain, str) or not isinstance(plan, str):
        return None
    prefix = reseller.get("database_prefix", ResellerSpec.model_fields["database_prefix"].default)
    plans = _plans_of(reseller)
    found = plans.get(plan.strip()) if plans is not None else None
    if found is None or not isinstance(prefix, str):
        return None
    return f"{found.tier.value}:{naming.database_name(prefix.strip(), subdomain.strip().lower())}"


def _ruc(data: Any) -> str | None:
    ruc = data.get("ruc") if isinstance(data, dict) else None
    return str(ruc).strip() if isinstance(ruc, (str, int)) and not isinstance(ruc, bool) else None


def _why(old_t: Any, new_t: Any, old_r: Any, new_r: Any, old_id: str, new_id: str) -> str:
    reasons = []
    if old_id.split(":")[0] != new_id.split(":")[0]:
        reasons.append(f"plan tier {old_id.split(':')[0]} -> {new_id.split(':')[0]}")
    from provisioner.model.models import ResellerSpec

    default = ResellerSpec.model_fields["database_prefix"].default
    old_prefix = old_r.get("database_prefix", default) if isinstance(old_r, dict) else None
    new_prefix = new_r.get("database_prefix", default) if isinstance(new_r, dict) else None
    if old_prefix != new_prefix:
        reasons.append(f"database_prefix {old_prefix} -> {new_prefix}")
    if str(old_t.get("subdomain", "")).lower() != str(new_t.get("subdomain", "")).lower():
        reasons.append(f"subdomain {old_t.get('subdomain')} -> {new_t.get('subdomain')}")
    return ", ".join(reasons) or "database name"


def _tiers(reseller: Any) -> Any:
    """What of a reseller file decides database identities: the prefix and the plans' tiers."""
    if not isinstance(reseller, dict):
        return None
    plans = _plans_of(reseller)
    return (reseller.get("database_prefix"),
            None if plans is None else {n: p.tier for n, p in plans.items()})


def database_moves(changeset: ChangeSet, spec_root: Path) -> dict[str, DatabaseMove]:
    """For each stack to `up`, whether its database identity at HEAD differs from BASE's (the
    tenant's own file, or on a rename the file of the same RUC it leaves). Reads only what can
    differ: a tenant file unchanged between BASE and HEAD (same blob) is parsed only when the
    reseller's prefix or plan tiers changed. A change set without a BASE (--all) has none."""
    from provisioner.model.layout import RESELLER_FILENAMES, TENANTS_DIRNAME
    from provisioner.orchestrate.git_repo import Git

    ups = changeset.by_action("up")
    if not ups or changeset.base == "(none)":
        return {}
    git = Git(spec_root)
    prefix = git.prefix(spec_root)
    base, head = changeset.base, changeset.head
    resellers = [f"{rev}:{prefix}{n}" for rev in (base, head) for n in RESELLER_FILENAMES]
    texts = git.blobs(resellers)

    def reseller_at(rev: str) -> Any:
        return parsed(next((texts[k] for k in resellers if k.startswith(f"{rev}:") and texts[k]),
                          None))

    old_reseller, new_reseller = reseller_at(base), reseller_at(head)
    reseller_same = _tiers(old_reseller) == _tiers(new_reseller)
    unknown = [c for c in ups if c.path and (c.old_text is None or c.new_text is None)]
    ids_at: dict[str, dict[str, str]] = {}
    if unknown:
        folder = f"{prefix}{TENANTS_DIRNAME}"
        ids_at = {base: git.ids_below(base, folder), head: git.ids_below(head, folder)}
    wanted: set[str] = set()
    for c in unknown:
        old_id, new_id = ids_at[base].get(c.path or ""), ids_at[head].get(c.path or "")
        if old_id == new_id and reseller_same:
            continue  # same file, same prefix and tiers: same database
        wanted.update(i for i in (old_id, new_id) if i)
    blobs = git.blobs(sorted(wanted))

    def text_at(rev: str, path: str | None) -> str | None:
        blob = ids_at.get(rev, {}).get(path or "")
        return blobs.get(blob) if blob else None

    leaving = {ruc: d for d in changeset.by_action("destroy")
               if (ruc := _ruc(parsed(d.old_text))) is not None}
    moves: dict[str, DatabaseMove] = {}
    for c in ups:
        new_text = c.new_text if c.new_text is not None else text_at(head, c.path)
        new_t = parsed(new_text)
        if not isinstance(new_t, dict):
            continue
        renamed_from = None
        old_text = c.old_text
        if old_text is None and (d := leaving.get(_ruc(new_t))) is not None:
            old_text, renamed_from = d.old_text, d.stack  # the same client, new subdomain
        if old_text is None:  # a platform or catalog change: the file at BASE
            old_text = text_at(base, c.path)
        if old_text is None:
            continue  # a new tenant, or a file unchanged with nothing else changed
        old_t = new_t if old_text == new_text else parsed(old_text)
        move = move_for(c.stack, old_t, new_t, old_reseller, new_reseller, renamed_from)
        if move is not None:
            moves[c.stack] = move
    return moves


def move_for(stack: str, old_tenant: Any, new_tenant: Any, old_reseller: Any,
             new_reseller: Any, renamed_from: str | None = None) -> DatabaseMove | None:
    """The move, if the tenant's database identity differs between BASE and HEAD (parsed
    YAML of the tenant and reseller files at each); acknowledged only by the exact new one."""
    old_id = database_identity(old_tenant, old_reseller)
    new_id = database_identity(new_tenant, new_reseller)
    if old_id is None or new_id is None or old_id == new_id:
        return None
    ack = new_tenant.get(ACK_FIELD)
    return DatabaseMove(stack, old_id, new_id,
                        _why(old_tenant, new_tenant, old_reseller, new_reseller, old_id, new_id),
                        isinstance(ack, str) and ack.strip() == new_id, renamed_from)


@dataclass
class Review:
    runnable: list[StackChange] = field(default_factory=list)
    blocked: list[StackResult] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    moving: set[str] = field(default_factory=set)  # acknowledged database moves

    def warn(self, stack: str, message: str) -> None:
        self.warnings.setdefault(stack, []).append(message)

    def all_warnings(self) -> list[str]:
        return [w for ws in self.warnings.values() for w in ws]


def review(changeset: ChangeSet, *, allow_destroy_production: bool,
           operation: str, moves: Mapping[str, DatabaseMove] | None = None,
           alternate_default: bool | None = None,
           limit_users: Mapping[str, int] | None = None) -> Review:
    """Split the changes into what may run and what a guard blocks, with warnings.

    `moves` (from `database_moves`) blocks, in every environment, a change that would give a
    tenant a new database unless its spec acknowledges that exact new database; on a rename,
    the old stack's destroy is held with it. A field the app keeps from creation that an `up`
    changes is a warning (`creation_only`; `alternate_default`: the reseller's
    sunat_alternate_server, which an absent key means; `limit_users`: each plan's, to say
    when a new plan's user limit does not reach the account)."""
    out = Review()
    moves = moves or {}
    held = {m.renamed_from: m for m in moves.values()
            if m.renamed_from and not m.acknowledged}
    for change in changeset.changes:
        move = moves.get(change.stack) if change.action == "up" else None
        if move is not None:
            if not move.acknowledged:
                message = move.blocked_message()
                out.warn(change.stack, message)
                out.blocked.append(StackResult(change.stack, operation, ok=False,
                                               skipped=True, error=message))
                continue
            out.warn(change.stack, move.data_message())
            out.moving.add(change.stack)
        if change.action == "destroy" and change.stack in held:
            message = (f"{change.stack} is not destroyed: its tenant moves to "
                       f"{held[change.stack].stack}, which is blocked (see there)")
            out.blocked.append(StackResult(change.stack, "destroy", ok=False, skipped=True,
                                           error=message))
            continue
        if moves_to_production(change):
            if not acknowledges_demo_history(change.new_text):
                message = demo_to_production_message(change.stack)
                out.warn(change.stack, message)
                out.blocked.append(StackResult(change.stack, operation, ok=False, skipped=True,
                                               error=message))
                continue
            out.warn(change.stack, f"{change.stack} moves from demo to production and keeps its "
                                   "demo data (acknowledge_demo_history: true)")
        if change.action == "up" and change.old_text is not None:
            for message in spec_warnings(change.stack, parsed(change.old_text),
                                         parsed(change.new_text),
                                         alternate_default=alternate_default,
                                         limit_users=limit_users):
                out.warn(change.stack, message)
        if change.action == "destroy" and was_production(change):
            if not allow_destroy_production:
                message = production_destroy_message(change.stack)
                out.warn(change.stack, message)
                out.blocked.append(StackResult(change.stack, "destroy", ok=False, skipped=True,
                                               error=message))
                continue
            out.warn(change.stack, f"production tenant {change.stack} will be destroyed "
                                   "(--allow-destroy-production): protected resources are "
                                   "unprotected first, the database, secrets and generated "
                                   "values are kept (retain_on_delete), DNS goes last")
        out.runnable.append(change)
    return out


def apply_waves(changes: Sequence[StackChange], batch_size: int,
                environments: Mapping[str, str] | None = None) -> list[Wave]:
    """Demo and internal tenants first (ups and their destroys), then production tenants in
    batches of `batch_size`, production destroys last: a broken change surfaces on tenants
    whose users can afford it. `environments` (stack → soap.environment of the validated spec)
    wins over the change's text; a tenant of unknown environment counts as production."""
    environments = environments or {}
    early: list[Job] = []
    production: list[Job] = []
    late: list[Job] = []
    for c in changes:
        if c.action == "destroy":
            (late if was_production(c) else early).append(Job(c.stack, "destroy"))
        elif (environments.get(c.stack) or environment_of(c.new_text) or PRODUCTION) == PRODUCTION:
            production.append(Job(c.stack, "up"))
        else:
            early.append(Job(c.stack, "up"))
    waves = [Wave("demo and internal", early)] if early else []
    size = max(1, batch_size)
    batches = [production[i:i + size] for i in range(0, len(production), size)]
    for n, batch in enumerate(batches, 1):
        waves.append(Wave(f"production {n}/{len(batches)}", batch))
    if late:
        waves.append(Wave("production destroys", late))
    return waves


def with_moves(waves: Sequence[Wave], moving: set[str]) -> list[Wave]:
    """The same waves, the acknowledged moves' ups run as MOVE_OPERATION (unprotect the
    retained resources, then up)."""
    from provisioner.orchestrate.scheduler import Wave

    return [Wave(w.name, [replace(j, operation=MOVE_OPERATION)  # type: ignore[arg-type]
                          if j.operation == "up" and j.stack in moving else j
                          for j in w.jobs]) for w in waves]


# The engine's own words when a step would replace or delete a protected resource
# (pulumi/pulumi pkg/resource/deploy: step_generator.go "unable to replace resource %q\nas it
# is currently marked for protection", step.go "resource %q cannot be deleted\nbecause it is
# protected"); the first line is enough, as describe_error keeps only the error lines.
_PROTECT_ERRORS: Final = ("marked for protection", "because it is protected",
                          "unable to replace resource", "cannot be deleted")


def engine_warnings(results: Sequence[StackResult]) -> dict[str, list[str]]:
    """The warnings the program and the engine gave while a stack ran, per stack (a stack
    that did not run has notes, not warnings)."""
    return {r.stack: [f"{r.stack}: {w}" for w in r.warnings]
            for r in results if r.warnings and not r.skipped}


def protect_warnings(results: Sequence[StackResult]) -> dict[str, list[str]]:
    """For each stack the engine stopped on a protected resource, what that means here."""
    return {r.stack: [f"{r.stack}: Pulumi refused to replace or delete a protected resource "
                      "(the tenant's database, in every environment, or production data); "
                      "nothing was changed by it. If the database really must change, follow "
                      f"{MOVING_A_DATABASE}; otherwise revert "
                      "the change that causes it."]
            for r in results if not r.ok and r.error
            and any(e in r.error for e in _PROTECT_ERRORS)}
