"""The `socialgov` command line."""

from __future__ import annotations

import argparse
import sys
from uuid import UUID

from infra.settings import Settings, SettingsError


def _container(settings: Settings | None = None) -> object:
    from api.container import Container

    return Container(settings or Settings.from_env())


def cmd_run(args: argparse.Namespace) -> int:
    """Seeds the demo trust on a first development run, then serves: in this process, or with several web processes
    (settings.workers > 1) as gunicorn's workers running uvicorn (api.serving.WebProcesses), each building its app
    from the same environment. The database's locks order their writes."""
    import uvicorn

    from api.app import create_app
    from api.container import Container
    from api.demo import demo_exists, seed_demo
    from api.serving import WebProcesses, uvicorn_options

    settings = Settings.from_env()
    container = Container(settings)
    if not settings.is_production and not args.no_demo and not demo_exists(container):
        print("Seeding the demo trust (first run)...", file=sys.stderr)
        seed_demo(container)
    if settings.redis_url is None:
        from api.tasks import EmbeddedScheduler

        EmbeddedScheduler(settings).start()
        print("Scheduled jobs run in-process (no SOCIALGOV_REDIS_URL): breach and reminder sweeps, monitoring "
              "checks, feed polling.", file=sys.stderr)
    mode = "production" if settings.is_production else "development"
    print(f"SocialGov ({mode}) on http://{args.host}:{args.port}  database: {settings.database_url.split('@')[-1]}"
          f"  web processes: {settings.workers}", file=sys.stderr)
    if settings.workers <= 1:
        app = create_app(settings, container)
        uvicorn.run(app, host=args.host, port=args.port, **uvicorn_options(settings))
    else:
        container.close()  # gunicorn forks the workers from this process: they must inherit no open connection
        WebProcesses(settings, args.host, args.port).run()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from api.container import Container
    from api.demo import analyze, demo_exists, seed_demo, seed_scale

    settings = Settings.from_env()
    c = Container(settings)
    if args.scale:
        with tqdm(total=args.scale, unit="school", desc="seeding") as bar:
            result = seed_scale(c, args.scale, progress=bar.update)
        with tqdm(total=result["events"], unit="event", desc="projecting") as bar:
            last = [c.projections.position()]

            def tick(pos: int, total: int) -> None:
                bar.total = total
                bar.update(pos - last[0])
                last[0] = pos

            c.projections.catch_up(progress=tick)
        analyze(c)  # planner statistics for the rows just loaded
        print(f"seeded {result['schools']} schools, {result['events']} events")
    elif demo_exists(c):
        print("demo trust already present")
    else:
        seed_demo(c)
        print("demo trust seeded")
    c.close()
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    from api.container import Container

    Container(Settings.from_env()).close()  # migrates on construction
    print("database is at the latest schema")
    return 0


def cmd_projections(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from api.container import Container

    c = Container(Settings.from_env())
    total = c.recorder.max_notification_id() or 0
    with tqdm(total=total, unit="event", desc="rebuilding") as bar:
        def tick(pos: int, tot: int) -> None:
            bar.total = tot
            bar.n = pos
            bar.refresh()

        if args.action == "rebuild":
            c.projections.rebuild(progress=tick)
        else:
            c.projections.catch_up(progress=tick)
    print(f"projections at position {c.projections.position()} of {total}")
    c.close()
    return 0


def cmd_dev_token(args: argparse.Namespace) -> int:
    from api.container import Container
    from services.identity import principal_for_person

    settings = Settings.from_env()
    if settings.is_production or not settings.dev_login:
        print("dev-token is available only in development mode", file=sys.stderr)
        return 2
    c = Container(settings)
    try:
        person_id = UUID(args.person)
    except ValueError:
        print("--person must be a UUID", file=sys.stderr)
        return 2
    if principal_for_person(c.engine, person_id, "dev", today=c.today()) is None:
        print("no active person with that id", file=sys.stderr)
        return 2
    print(c.tokens.issue(person_id, auth_method="dev"))
    c.close()
    return 0


def cmd_trust_create(args: argparse.Namespace) -> int:
    from api.container import Container
    from services.directory import system_actor

    c = Container(Settings.from_env())
    trust_id, admin_id = c.directory.register_trust(args.name, args.admin_name, args.admin_email,
                                                    system_actor("socialgov trust create"))
    print(f"trust {trust_id}\ntrust_admin {admin_id}")
    c.close()
    return 0


def cmd_personas(args: argparse.Namespace) -> int:
    from api.container import Container
    from services.identity import find_personas, personas

    c = Container(Settings.from_env())
    found = find_personas(c.engine, args.search, c.today()) if args.search else personas(c.engine)
    for p in found:
        roles = p["roles"]
        assert isinstance(roles, list)
        print(f"{p['id']}  {p['display_name']:<20} {', '.join(roles)}")
    c.close()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import api.tasks  # noqa: F401  (registers the tasks)
    from infra.celery_app import celery_app

    argv = ["worker", f"--loglevel={args.loglevel}", f"--pool={args.pool}"]
    if args.concurrency:
        argv.append(f"--concurrency={args.concurrency}")
    if args.queues:
        argv.append(f"--queues={args.queues}")
    celery_app.worker_main(argv)
    return 0


def cmd_beat(args: argparse.Namespace) -> int:
    from pathlib import Path

    import api.tasks  # noqa: F401  (registers the schedule)
    from infra.celery_app import celery_app

    Path(args.schedule).parent.mkdir(parents=True, exist_ok=True)
    celery_app.start(["beat", f"--loglevel={args.loglevel}", f"--schedule={args.schedule}"])
    return 0


def cmd_vault_rotate(args: argparse.Namespace) -> int:
    import os

    from api.container import Container

    new_key = os.environ.get(args.new_key_env, "")
    if not new_key:
        print(f"set the new master key (base64 of 32 random bytes) in ${args.new_key_env}", file=sys.stderr)
        return 2
    c = Container(Settings.from_env())
    count = c.vault.rotate_master_key(new_key)
    c.close()
    print(f"re-wrapped {count} school data keys; ciphertexts unchanged. Now set SOCIALGOV_MASTER_KEY to the new key "
          "and restart every process.")
    return 0


def cmd_audit_verify(_: argparse.Namespace) -> int:
    from api.container import Container
    from services.audit import verify_chain

    c = Container(Settings.from_env())
    result = verify_chain(c.engine, c.recorder)
    c.close()
    if result.ok:
        print(f"OK: {result.checked} events, chain head at position {result.head_position} ({result.head_link})")
        return 0
    print(f"BROKEN at position {result.broken_position}: {result.problem} ({result.checked} events checked before it)")
    return 1


def cmd_bundle_verify(args: argparse.Namespace) -> int:
    from infra import bundle_verifier

    return int(bundle_verifier.main([args.file, "--public-key", args.public_key]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="socialgov", description="Social media governance for school trusts")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve the app (embedded SQLite by default; seeds the demo in development)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--no-demo", action="store_true", help="do not seed the demo trust")
    run.set_defaults(func=cmd_run)
    demo = sub.add_parser("demo", help="seed the demo trust; --scale N adds N synthetic schools in bulk")
    demo.add_argument("--scale", type=int, default=0)
    demo.set_defaults(func=cmd_demo)
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(func=cmd_migrate)
    proj = sub.add_parser("projections", help="projection maintenance")
    proj.add_argument("action", choices=["rebuild", "catch-up"])
    proj.set_defaults(func=cmd_projections)
    tok = sub.add_parser("dev-token", help="print a bearer token for a person (development mode only)")
    tok.add_argument("--person", required=True)
    tok.set_defaults(func=cmd_dev_token)
    sp = sub.add_parser("personas", help="list people and their roles (ids for dev-token)")
    sp.add_argument("--search", help="only (at most 25) people whose name or email contains this")
    sp.set_defaults(func=cmd_personas)
    worker = sub.add_parser("worker", help="run a Celery worker for background tasks (SOCIALGOV_REDIS_URL)")
    worker.add_argument("--loglevel", default="info")
    worker.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    worker.add_argument("--concurrency", type=int, default=0, help="worker processes (default: one per CPU)")
    worker.add_argument("--queues", default="", help="comma-separated queues to consume (default: celery)")
    worker.set_defaults(func=cmd_worker)
    beat = sub.add_parser("beat", help="run the Celery beat scheduler (exactly one per deployment)")
    beat.add_argument("--loglevel", default="info")
    beat.add_argument("--schedule", default="./var/celerybeat-schedule", help="beat's schedule state file")
    beat.set_defaults(func=cmd_beat)
    trust = sub.add_parser("trust", help="trust bootstrap")
    trust_sub = trust.add_subparsers(dest="trust_command", required=True)
    create = trust_sub.add_parser("create", help="create a trust and its first trust administrator")
    create.add_argument("--name", required=True)
    create.add_argument("--admin-name", required=True)
    create.add_argument("--admin-email", required=True)
    create.set_defaults(func=cmd_trust_create)
    vault = sub.add_parser("vault", help="credential vault maintenance")
    vault_sub = vault.add_subparsers(dest="vault_command", required=True)
    rotate = vault_sub.add_parser("rotate-master-key",
                                  help="re-wrap every school's data key with a new master key (ciphertexts untouched)")
    rotate.add_argument("--new-key-env", default="SOCIALGOV_NEW_MASTER_KEY",
                        help="environment variable holding the new key (default SOCIALGOV_NEW_MASTER_KEY)")
    rotate.set_defaults(func=cmd_vault_rotate)
    audit_p = sub.add_parser("audit", help="audit trail")
    audit_sub = audit_p.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="recompute the hash chain over the whole event log").set_defaults(
        func=cmd_audit_verify)
    bundle_p = sub.add_parser("bundle", help="evidence bundles")
    bundle_sub = bundle_p.add_subparsers(dest="bundle_command", required=True)
    bverify = bundle_sub.add_parser("verify", help="verify an evidence bundle offline with the trust's public key")
    bverify.add_argument("file")
    bverify.add_argument("--public-key", required=True)
    bverify.set_defaults(func=cmd_bundle_verify)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
