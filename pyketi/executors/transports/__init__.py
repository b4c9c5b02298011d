"""How a batch of commands reaches a node: ``base.Transport`` and its SSH implementation."""
