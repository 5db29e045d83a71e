"""core: settings, domain types, exit codes, validators of Vietnamese codes, and the one database
(neutral table base, engine, migrations: db.py), shared by every stage."""
