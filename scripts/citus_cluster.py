#!/usr/bin/env python3
"""Start and stop a local Citus cluster (a coordinator and workers) from binaries already
installed, for the `citus` tests and measurements (issue 18 §5; docs/scaling.md, "Citus").

This script builds nothing: PostgreSQL's server binaries (`--bindir`, default the one
`pg_config --bindir` names, else Debian's /usr/lib/postgresql/15/bin) and the Citus extension
(`citus.so` in their lib directory) must be installed already.

    scripts/citus_cluster.py start [--dir /work/citus-data] [--port 5440] [--workers 2]
    scripts/citus_cluster.py createdb portal_citus   # on every node, with the extension, nodes added
    scripts/citus_cluster.py dropdb portal_citus
    scripts/citus_cluster.py status
    scripts/citus_cluster.py stop

The coordinator listens on `--port`, the workers on the next ports, on 127.0.0.1 only, with
trust authentication for the `postgres` role (a local test cluster, never a production set-up).
Run as root, the servers run as the `postgres` OS user (initdb refuses root). Then:

    CITUS_DATABASE_URL=postgres://postgres@127.0.0.1:5440/portal_citus \\
        scripts/launcher.py test -m citus
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

SETTINGS = {
    "shared_preload_libraries": "'citus'",
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "max_prepared_transactions": "200",  # Citus' two-phase commit
    "max_locks_per_transaction": "512",  # a new enterprise schema locks ~250 relations
    "wal_level": "logical",  # citus_schema_move / shard moves use logical replication
    "max_wal_senders": "20",
    "max_replication_slots": "20",
    "shared_buffers": "128MB",
    "fsync": "off",  # a throw-away test cluster
    "full_page_writes": "off",
    "citus.enable_unsafe_triggers": "on",  # the enterprise tables' own triggers (append-only ledger, clock events)
    "citus.enable_schema_based_sharding": "off",  # provisioning distributes explicitly (tenants.citus)
    "log_min_messages": "warning",
}


def bindir(given: str | None) -> Path:
    if given:
        return Path(given)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    return Path("/usr/lib/postgresql/15/bin")


def as_server_user(command: Sequence[str]) -> list[str]:
    """Run as `postgres` when we are root (initdb and postgres refuse root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return list(command)


def nodes(args: argparse.Namespace) -> list[tuple[str, int, Path]]:
    base = Path(args.dir)
    result = [("coordinator", args.port, base / "coordinator")]
    result += [(f"worker{i}", args.port + i, base / f"worker{i}") for i in range(1, args.workers + 1)]
    return result


def psql(args: argparse.Namespace, port: int, sql: str, database: str = "postgres") -> str:
    command = [
        str(bindir(args.bindir) / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
        "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database, "-c", sql,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"psql on port {port} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def start(args: argparse.Namespace) -> None:
    binaries = bindir(args.bindir)
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(args.dir, user.pw_uid, user.pw_gid)
    for name, port, data in nodes(args):
        if not (data / "PG_VERSION").exists():
            subprocess.run(
                as_server_user([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                "-E", "UTF8", "--locale=C.UTF-8"]),
                check=True, capture_output=True,
            )  # fmt: skip
            with (data / "postgresql.auto.conf").open("a") as conf:
                conf.write("".join(f"{key} = {value}\n" for key, value in SETTINGS.items()))
                conf.write(f"port = {port}\nunix_socket_directories = '{data}'\n")
        if (data / "postmaster.pid").exists():
            print(f"{name}: already running on {port}")
            continue
        subprocess.run(
            as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w", "start"]),
            check=True, capture_output=True,
        )  # fmt: skip
        print(f"{name}: started on 127.0.0.1:{port} ({data})")


def stop(args: argparse.Namespace) -> None:
    for name, _port, data in reversed(nodes(args)):
        if not (data / "postmaster.pid").exists():
            print(f"{name}: not running")
            continue
        subprocess.run(
            as_server_user([str(bindir(args.bindir) / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=True, capture_output=True,
        )  # fmt: skip
        print(f"{name}: stopped")


def status(args: argparse.Namespace) -> None:
    for name, port, data in nodes(args):
        running = (data / "postmaster.pid").exists()
        print(f"{name}: {'running' if running else 'stopped'} on {port} ({data})")


def createdb(args: argparse.Namespace) -> None:
    """The database on every node, the extension in each, the workers added to the coordinator."""
    all_nodes = nodes(args)
    for _name, port, _data in all_nodes:
        if not psql(args, port, f"SELECT 1 FROM pg_database WHERE datname = '{args.name}'"):  # noqa: S608 (the operator's own name)
            psql(args, port, f'CREATE DATABASE "{args.name}"')
        psql(args, port, "CREATE EXTENSION IF NOT EXISTS citus", args.name)
    coordinator = all_nodes[0][1]
    psql(args, coordinator, f"SELECT citus_set_coordinator_host('127.0.0.1', {coordinator})", args.name)
    for _name, port, _data in all_nodes[1:]:
        psql(args, coordinator, f"SELECT citus_add_node('127.0.0.1', {port})", args.name)
    print(psql(args, coordinator, "SELECT string_agg(nodename || ':' || nodeport, ' ') FROM pg_dist_node", args.name))


def dropdb(args: argparse.Namespace) -> None:
    for _name, port, _data in reversed(nodes(args)):
        psql(args, port, f'DROP DATABASE IF EXISTS "{args.name}" WITH (FORCE)')


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop", "status", "createdb", "dropdb"])
    parser.add_argument("name", nargs="?", help="the database (createdb, dropdb)")
    parser.add_argument("--dir", default=os.environ.get("CITUS_DATA_DIR", "/work/citus-data"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("CITUS_PORT", "5440")))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bindir", default=os.environ.get("PG_BINDIR"))
    args = parser.parse_args(argv)
    if args.command in ("createdb", "dropdb") and not args.name:
        parser.error(f"{args.command} needs a database name")
    {"start": start, "stop": stop, "status": status, "createdb": createdb, "dropdb": dropdb}[args.command](args)
    time.sleep(0)


if __name__ == "__main__":
    sys.exit(main())
