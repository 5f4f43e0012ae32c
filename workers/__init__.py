"""Dramatiq actors: thin entry points over the same services the HTTP edge uses."""
