"""Authentication and authorization: access-token clients, bearer tokens, scopes and workspaces.

`api_security` is the entry point the app uses; the other modules each hold one piece
(scope rules, secret hashing, tokens, the middleware, the guard, the token endpoint,
the signing key, the first-start client).
"""
