"""``CmdExecutor``: heketi's node commands (``executors.commands``) run in one batch per
node through a transport (``executors.transports``)."""
