"""HTTP edge and the services it shares with the workers."""
