"""Subcommands of `mmfm`; each module exposes `register(subparsers)`."""
