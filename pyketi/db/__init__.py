"""The store: models (``models``), sessions and transactions (``session``), the reads
the API serves (``queries``), heketi's export/import format (``export``), the
consistency check (``check``) and schema upgrades (``migrate``; Alembic history in
``migrations/``). Nothing here imports ``api``, ``operations`` or ``executors``."""
