"""The `dialer` subcommands, one module per resource; `dialer.cli` wires them together."""
