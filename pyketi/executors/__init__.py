"""What pyketi asks of storage nodes, and how it gets there.

Where a change goes:

* ``base.py``         the ``Executor`` interface and its request/answer dataclasses;
* ``commands/``       node commands built as argv lists, one module per object (brick,
                      device, peer, volume), and the parsers of their output
                      (``gluster_xml``, ``lvm_output``): pure, no I/O;
* ``cmd/``            ``CmdExecutor``: runs those commands in batches per node through a
                      transport and turns results into answers or ``ExecutorError``;
* ``transports/``     how a batch reaches a node (``base.Transport``; ``ssh``);
* ``doubles/``        executors for tests and demos: ``mock`` (fake node state),
                      ``fault`` (fails or hangs a chosen call);
* ``validate.py``     what a value must look like before it may reach a node command;
* ``reachability.py`` nodes that recently did not answer; ``config.py`` the
                      ``sshexec`` settings; ``factory.py`` builds the configured executor.

Undo is not done here: a failed call raises, and the operation engine undoes the
steps it started (``NothingChanged`` tells it there is nothing to undo).
"""
