"""Bóc tách: reading the metadata off a document's words (type, number, date, issuer, summary, owner)."""
