"""`python -m sohoa`: the same as the `sohoa` command (used to start worker processes)."""

from sohoa.cli import main

main()
