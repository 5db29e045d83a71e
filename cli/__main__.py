"""`python -m sohoa.cli`: the same as the `sohoa` command."""

from sohoa.cli import main

main()
