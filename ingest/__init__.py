"""ingest: validate incoming bytes, sniff their type, hash, dedup and attach metadata."""
