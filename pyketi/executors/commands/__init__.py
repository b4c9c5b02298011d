"""Pure builders of heketi's exact node commands (spec §6), as argv lists.

One module per object kind, re-exported here:

* ``peer``   - glusterd check, peer probe/detach   (cmdexec/peer.go)
* ``device`` - pvcreate/vgcreate/identify/teardown (cmdexec/device.go)
* ``brick``  - brick create/destroy                (cmdexec/brick.go)
* ``volume`` - volume create/expand/delete/info/clone (cmdexec/volume.go, snapshot.go)
* ``base``   - command prefixes (gluster, lvm, udevadm)

and the parsers of what they print: ``gluster_xml``, ``lvm_output``.

Nothing here runs anything.  Every builder validates what it puts on a
command line (``executors.validate``) and raises ``ExecutorError``.
"""

from pyketi.executors.commands.base import (  # noqa: F401
    MOUNT_ROOT, device_mount_parent, gluster, lvm, pv_uuid_path, udevadm, vg_name)
from pyketi.executors.commands.brick import (  # noqa: F401
    brick_create, brick_destroy, brick_fstab_remove, brick_lv_remove, brick_mount,
    brick_rmdir, brick_umount, check_brick_request, device_node, mount_table,
    thin_pool_count, thin_pool_remove_if_empty)
from pyketi.executors.commands.device import (  # noqa: F401
    device_identify, device_rmdir, device_setup, device_teardown, pv_lookup,
    pv_remove, vg_display, vg_remove)
from pyketi.executors.commands.peer import glusterd_check, peer_detach, peer_probe  # noqa: F401
from pyketi.executors.commands.volume import (  # noqa: F401
    HEKETI_ID_OPTION, SETS_PER_ADD_BRICK, brick_specs, check_volume_request,
    snapshot_activate, snapshot_clone, snapshot_create, snapshot_deactivate,
    snapshot_delete, volume_clone, volume_create, volume_destroy, volume_expand,
    volume_heal_info, volume_info, volume_options, volume_replace_brick,
    volume_start_xml)
