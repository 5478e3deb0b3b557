"""Ingestion: find documents (``discover``), read them (``readers``), chunk them (``chunk``), record
what was read (``sources``) and build or update the index from the changes (``pipeline``).

The public entry points are ``leann_cli.build_from_docs`` and ``leann_cli.BuildOptions``.
"""
