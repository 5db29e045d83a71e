"""archive: object storage of self-describing records, catalog, events, fixity, retention."""
