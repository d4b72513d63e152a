# `python -m glassnet` runs the CLI on import: keep it out of doctest collection.
collect_ignore = ["src/glassnet/__main__.py"]
