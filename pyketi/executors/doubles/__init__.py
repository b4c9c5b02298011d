"""Executors without real nodes, for tests and demos: ``mock`` keeps a fake node state,
``fault`` wraps another executor and fails or hangs a chosen call."""
