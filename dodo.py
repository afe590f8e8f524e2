"""doit tasks of this repository: build, validate and report its fixtures."""

DOIT_CONFIG = {"backend": "json", "dep_file": ".doit.db", "verbosity": 1}
