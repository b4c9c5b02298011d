"""Import every operation module so their kinds and steps are registered.

The cleaner may have to undo an operation of any kind after a restart, so the
registry must be complete before the first cleanup round.
"""

from pyketi.operations import (device_remove, devices, nodes, steps, volume_clone,  # noqa: F401
                               volume_create, volume_delete, volume_expand)
