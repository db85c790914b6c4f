"""`nautilus-bt keys create|list|revoke`: API keys, managed on the database directly (an
operator's command: whoever runs it holds the database credentials).

``create`` prints the new key once, alone on the last line of standard output (so scripts can
take ``| tail -1``); only its HMAC is stored, so a lost key is revoked and replaced.
"""

from __future__ import annotations

import argparse
from typing import Any

from workers.settings import Settings, get_settings


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser("keys", help="create, list and revoke API keys")
    commands = keys.add_subparsers(dest="keys_command", required=True)
    create = commands.add_parser("create", help="a new key; printed once, on the last line")
    create.add_argument("--owner", required=True, help="whose jobs the key sees and submits")
    create.add_argument("--role", choices=("admin", "member"), default="member")
    create.set_defaults(handler=cmd_create)
    listing = commands.add_parser("list", help="every key: id, owner, role, created, revoked")
    listing.set_defaults(handler=cmd_list)
    revoke = commands.add_parser("revoke", help="revoke a key by its id (see keys list)")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=cmd_revoke)


def _sessions(settings: Settings) -> Any:
    from store.db import make_engine, make_session_factory
    from store.schema import upgrade

    upgrade(settings.database_url)
    return make_session_factory(make_engine(settings.database_url))


def create_key(settings: Settings, owner: str, role: str) -> tuple[str, str]:
    """A new key for ``owner``: ``(key id, secret key)``."""
    from store import keys
    from store.db import transaction

    with transaction(_sessions(settings)) as session:
        row, secret = keys.create_key(session, owner, role, settings.api_key_pepper)
        return row.id, secret


def cmd_create(args: argparse.Namespace) -> int:
    try:
        key_id, secret = create_key(get_settings(), args.owner, args.role)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    print(f"created key {key_id} for {args.owner} ({args.role}); it is shown once, below:")
    print(secret)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from store import keys

    with _sessions(get_settings())() as session:
        rows = keys.list_keys(session)
    print(f"{'id':<14}{'owner':<24}{'role':<8}{'created':<22}revoked")
    for r in rows:
        revoked = r.revoked_at.strftime("%Y-%m-%d %H:%M") if r.revoked_at else "-"
        print(f"{r.id:<14}{r.owner:<24}{r.role:<8}{r.created_at:%Y-%m-%d %H:%M:%S}   {revoked}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from store import keys
    from store.db import transaction
    from workers.redis_client import make_redis
    from workers.revocations import announce

    settings = get_settings()
    with transaction(_sessions(settings)) as session:
        revoked = keys.revoke_key(session, args.key_id)
    if not revoked:
        print(f"error: no active key {args.key_id}")
        return 1
    if announce(make_redis(settings)):
        print(f"revoked {args.key_id}")
    else:
        print(f"revoked {args.key_id}; Redis could not be told, so API processes may accept it "
              f"for up to NAUTILUS_AUTH_CACHE={settings.auth_cache_s:g} s more")  # fmt: skip
    return 0


def local_key(settings: Settings) -> str:
    """The admin key of this machine's own service (``make run``): the one saved in
    ``NAUTILUS_VAR_DIR/api-key`` while it is valid, else a new one saved there (mode 0600)."""
    from store import keys

    path = settings.var_dir / "api-key"
    sessions = _sessions(settings)
    if path.exists():
        saved = path.read_text().strip()
        with sessions() as session:
            if keys.principal_for(session, saved, settings.api_key_pepper):
                return saved
    _, secret = create_key(settings, "local", keys.ADMIN)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret
