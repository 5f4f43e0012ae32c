"""Client secrets are stored as salted scrypt hashes that carry their own cost."""

from __future__ import annotations

from app.auth.secret_hashing import hash_secret, new_secret, verify_secret


def test_a_secret_verifies_against_its_hash_and_nothing_else_does():
    secret = new_secret()
    stored = hash_secret(secret, cost=4)
    assert verify_secret(secret, stored)
    assert not verify_secret(secret + "x", stored)
    assert not verify_secret(new_secret(), stored)


def test_the_same_secret_hashes_differently_each_time():
    secret = new_secret()
    assert hash_secret(secret, cost=4) != hash_secret(secret, cost=4)


def test_the_hash_keeps_its_cost_so_a_later_default_does_not_break_it():
    secret = new_secret()
    stored = hash_secret(secret, cost=15)
    assert stored.startswith("scrypt$15$8$1$")
    assert verify_secret(secret, stored)


def test_a_damaged_hash_verifies_nothing():
    secret = new_secret()
    stored = hash_secret(secret, cost=4)
    for damaged in ("", "bcrypt$4$8$1$a$b", stored.replace("$4$", "$x$"), stored[:-8], stored + "$extra"):
        assert not verify_secret(secret, damaged), damaged


def test_secrets_are_long_and_unique():
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100 and min(len(s) for s in secrets) >= 43
