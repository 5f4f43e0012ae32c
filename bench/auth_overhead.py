"""What authentication costs per request, and what the token endpoint costs per token.

    .venv/bin/python -m bench.auth_overhead [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Prints, for the embedded SQLite database (and PostgreSQL when given an admin URL, on a
throwaway database it drops afterwards):
- verify: checking a token's signature and claims (PyJWT, HS256), no database;
- verify, remembered token: what a request pays for a token already verified;
- client read (uncached): the primary-key read of the client's standing, which every
  request makes in the embedded mode and, on PostgreSQL, a request whose client is not in
  the API's cache (app/auth/standings.py);
- GET /health vs GET /api/v2/data-ingestion/adapters through Litestar's test client:
  the same trivial handler cost without and with authentication + the scope guard;
- token endpoint: one client-credentials grant with the default scrypt cost (2**15).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from litestar.testing import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import migrations
from app.auth.keys import signing_key
from app.auth.middleware import authenticator
from app.auth.standings import StandingCache
from app.auth.tokens import AccessTokens
from app.main import create_app
from app.settings import Settings


def per_call_us(work: Callable[[], object], calls: int) -> float:
    """The fastest of five rounds, in microseconds per call: the machine is shared, and noise only adds."""
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            work()
        rounds.append((time.perf_counter() - start) / calls * 1e6)
    return min(rounds)


def measure(label: str, settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        credentials = json.loads((settings.data_dir / "bootstrap-credentials.json").read_text())
        form = {"grant_type": "client_credentials", "client_id": credentials["client_id"], "client_secret": credentials["client_secret"]}
        grant_ms = per_call_us(lambda: client.post("/api/v2/auth/token", data=form), 4) / 1000
        token = client.post("/api/v2/auth/token", data=form).json()["access_token"]
        runtime = app.state["runtime"]
        tokens = AccessTokens(key=signing_key(settings), lifetime=3600)
        check = authenticator(runtime, tokens, StandingCache.disabled())()
        claims = tokens.read(token)
        headers = {"Authorization": f"Bearer {token}"}
        rows = {
            "verify (PyJWT)": per_call_us(lambda: tokens._verify(token), 5000),
            "verify, remembered token": per_call_us(lambda: tokens.read(token), 5000),
            "client read (uncached)": per_call_us(lambda: check.read(claims), 2000),
            "GET /health (no auth)": per_call_us(lambda: client.get("/health"), 500),
            "GET /adapters (auth + guard)": per_call_us(lambda: client.get("/api/v2/data-ingestion/adapters", headers=headers), 500),
        }
    print(f"\n{label}")
    for name, value in rows.items():
        print(f"  {name:<30} {value:9.1f} µs/call")
    print(f"  {'token endpoint (scrypt 2**15)':<30} {grant_ms:9.1f} ms/grant")


@contextmanager
def throwaway_postgres(admin_url: str) -> Iterator[str]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"kbi_authbench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to measure on too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure("embedded (SQLite)", Settings(data_dir=Path(folder), log_level="WARNING"))
    if args.postgres:
        with throwaway_postgres(args.postgres) as url, tempfile.TemporaryDirectory() as folder:
            settings = Settings(
                database_url=url, data_dir=Path(folder), secret_key=uuid.uuid4().hex * 2, bootstrap_client=True, log_level="WARNING"
            )
            measure("PostgreSQL (no broker: the embedded worker idles)", settings)


if __name__ == "__main__":
    main()
