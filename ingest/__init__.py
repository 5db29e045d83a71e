"""ingest: THE pipeline (pipeline.py: stages declared once), its policy, contract and in-process runner."""
