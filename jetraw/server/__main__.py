"""``python -m jetraw.server``: run the reference platform (used by ``LocalPlatform``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from jetraw.server._serve import (
    ENV_TRUSTED_PROXIES,
    configure_logging,
    run,
    settings_from,
    trusted_proxies,
)

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jetraw.server", description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument(
        "--database", help="postgresql://... (default $JETRAW_SERVER_DATABASE, else SQLite)"
    )
    parser.add_argument("--instance-id", help="names this instance in metrics and logs")
    parser.add_argument("--base-url", help="the public URL behind a proxy (default: bound)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--admin-token-file", type=Path, help="enables /admin/v1")
    parser.add_argument("--ready-file", type=Path, help="JSON {url, port, pid} once serving")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        metavar="ADDRESS",
        help="believe X-Forwarded-For from this address/network (repeat; "
        f"default ${ENV_TRUSTED_PROXIES}, comma-separated)",
    )
    parser.add_argument(
        "--local-spaces-root", type=Path, help="base of local spaces (default DATA_DIR/spaces)"
    )
    parser.add_argument("--password-hash-n", type=int)
    parser.add_argument("--rate-limit-per-minute", type=int)
    parser.add_argument("--access-token-ttl", type=int)
    parser.add_argument("--refresh-grace-seconds", type=float)
    parser.add_argument("--upload-expiry-days", type=float)
    parser.add_argument("--garbage-grace-seconds", type=float)
    parser.add_argument("--cleanup-interval-seconds", type=float)
    parser.add_argument("--grant-ttl-seconds", type=float)
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    admin_token = None
    if args.admin_token_file is not None:
        admin_token = args.admin_token_file.read_text("utf-8").strip() or None
    settings = settings_from(
        data_dir=args.data_dir.resolve(),
        database=args.database,
        instance_id=args.instance_id,
        base_url=args.base_url and args.base_url.rstrip("/"),
        admin_token=admin_token,
        trusted_proxies=trusted_proxies(args.trusted_proxy),
        local_spaces_root=args.local_spaces_root and args.local_spaces_root.resolve(),
        password_hash_n=args.password_hash_n,
        rate_limit_per_minute=args.rate_limit_per_minute,
        access_token_ttl=args.access_token_ttl,
        refresh_grace_seconds=args.refresh_grace_seconds,
        upload_expiry_days=args.upload_expiry_days,
        garbage_grace_seconds=args.garbage_grace_seconds,
        cleanup_interval_seconds=args.cleanup_interval_seconds,
        grant_ttl_seconds=args.grant_ttl_seconds,
    )
    run(
        settings,
        host=args.host,
        port=args.port,
        ready_file=args.ready_file,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    main()
