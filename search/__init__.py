"""search: full-text and metadata index (Elasticsearch or SQLite FTS5), owner's Kho, reuse."""
