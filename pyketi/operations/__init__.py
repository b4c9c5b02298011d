"""Changes to the storage: each use case, how it runs, how it is undone.

Where a change goes:

* a use case (what ``POST /volumes`` & co. do): its own module, named for it —
  ``volume_create``, ``volume_expand``, ``volume_delete``, ``volume_clone``,
  ``device_add``, ``device_delete``, ``device_resync``, ``device_state``,
  ``device_remove`` (bricks moved off a device; brick evict), ``node_add``,
  ``node_delete``, ``node_state``; database-only ones: ``clusters``, ``tags``,
  ``block_restriction`` (with the block free-size rule). Each holds its
  *build* (checks + pending rows + the steps, one transaction), its operation
  data and its finalize/rollback, and defines ``KIND``, listed in ``registry``;
* a node-touching step (and its undo): ``steps/`` by object, listed in
  ``steps.STEPS``; its arguments are a dataclass stored as JSON (keep the names);
* node/device state transitions: ``state_rules``;
* how an operation is submitted, run, retried, recovered after a crash, and
  the ``/queue`` jobs: ``runner`` (``OperationRunner``), ``engine`` (steps and
  their undo), ``jobs`` (the queue table);
* database helpers for builders: ``placement_db`` (placement <-> rows),
  ``common`` (lookups), ``executor_requests`` (rows -> executor requests);
* ``runtime``: wires config, database, executor and runner; nothing else.
"""
