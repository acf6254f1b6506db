"""mmfm command line: wires the packages together. Heavy imports stay inside the subcommands."""

__version__ = "0.1.0"
