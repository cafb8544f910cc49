"""The command line: click lives only here. Commands are thin; they delegate to services."""
