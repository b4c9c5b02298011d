"""``volume create|list|info|delete|expand|clone|set-block-hosting-restriction``."""

from __future__ import annotations

import argparse
import json

from pyketi.cli import output
from pyketi.cli.args import Commands, add_id, bool_flag
from pyketi.cli.context import CliError, Context
from pyketi.client.models import VolumeInfo

CREATE_EXAMPLES = """examples:
  * a 100GiB replica 3 volume:
      pyketi-cli volume create --size=100
  * a 100GiB distributed volume:
      pyketi-cli volume create --size=100 --durability=none
  * a 100GiB erasure coded 4+2 volume:
      pyketi-cli volume create --size=100 --durability=disperse
  * an arbiter volume:
      pyketi-cli volume create --size=10 --gluster-volume-options="user.heketi.arbiter true"
"""


def _show(ctx: Context, volume: VolumeInfo) -> None:
    ctx.result(volume, output.volume_text(volume))


def create(ctx: Context, args: argparse.Namespace) -> None:
    if not args.size:
        raise CliError("Missing volume size")
    if args.persistent_volume and not args.persistent_volume_endpoint:
        raise CliError("--persistent-volume-endpoint must be provided when using "
                       "--persistent-volume")
    # heketi-cli always sends all three durability settings
    with ctx.wait(f"Creating {args.size}GiB {args.durability} volume"):
        volume = ctx.client.volume_create(
            size=args.size, name=args.name or None, durability=args.durability,
            replica=args.replica, disperse_data=args.disperse_data,
            redundancy=args.redundancy,
            clusters=args.clusters.split(",") if args.clusters else None,
            gid=args.gid,
            options=args.gluster_volume_options.split(",")
            if args.gluster_volume_options else None,
            block=bool(args.block),
            snapshot_factor=args.snapshot_factor if args.snapshot_factor > 1.0 else None)
    if args.persistent_volume or args.persistent_volume_file:
        pv = json.dumps(output.persistent_volume(volume, args.persistent_volume_endpoint),
                        indent=2)
        if args.persistent_volume:
            ctx.print(pv + "\n")
        else:
            try:
                with open(args.persistent_volume_file, "w", encoding="utf-8") as fp:
                    fp.write(pv)
            except OSError as exc:
                raise CliError(f"Unable to write to file {args.persistent_volume_file}: "
                               f"{exc.strerror or exc}") from None
        return
    _show(ctx, volume)


def list_(ctx: Context, args: argparse.Namespace) -> None:
    volumes = ctx.client.volume_list()
    if ctx.json:
        ctx.result(volumes, "")
        return
    with ctx.wait(f"Reading {len(volumes['volumes'])} volumes"):
        lines = [output.volume_list_line(ctx.client.volume_info(v))
                 for v in volumes["volumes"]]
    ctx.print("".join(lines))


def info(ctx: Context, args: argparse.Namespace) -> None:
    _show(ctx, ctx.client.volume_info(args.id))


def delete(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait(f"Deleting volume {args.id}"):
        ctx.client.volume_delete(args.id)
    ctx.print(f"Volume {args.id} deleted\n")


def expand(ctx: Context, args: argparse.Namespace) -> None:
    volume_id = args.volume or args.id
    if not args.expand_size:
        raise CliError("Missing volume amount to expand")
    if not volume_id:
        raise CliError("Missing volume id")
    if args.volume and args.id and args.volume != args.id:
        raise CliError("volume id given twice (argument and --volume) with different values")
    with ctx.wait(f"Expanding volume {volume_id} by {args.expand_size}GiB"):
        volume = ctx.client.volume_expand(volume_id, args.expand_size)
    _show(ctx, volume)


def clone(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait(f"Cloning volume {args.id}"):
        volume = ctx.client.volume_clone(args.id, args.name or None)
    _show(ctx, volume)


def set_block_restriction(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.wait(f"Setting block hosting restriction on volume {args.id}"):
        volume = ctx.client.volume_set_block_restriction(args.id, args.restriction == "locked")
    _show(ctx, volume)


def endpoint_patch(ctx: Context, args: argparse.Namespace) -> None:
    """heketi-cli prints ``{"subsets": <compact JSON>}`` with no newline, to be
    fed to ``kubectl patch endpoints NAME -p "$(...)"``."""
    subsets = ctx.client.volume_endpoint_subsets(args.id)
    ctx.print('{"subsets": ' + json.dumps(subsets, separators=(",", ":")) + "}")


def endpoint_service(ctx: Context, args: argparse.Namespace) -> None:
    """The Service that goes with the endpoints (pyketi's own: heketi-cli v10 has
    no such command); compact JSON, no newline, like ``endpoint patch``."""
    volume = ctx.client.volume_info(args.id)
    ctx.print(json.dumps(output.endpoint_service(volume, args.name), separators=(",", ":")))


def register(sub: object) -> None:
    group = Commands(sub, "volume", "Heketi volume management")
    p = group.leaf("create", create, "Create a GlusterFS volume", epilog=CREATE_EXAMPLES)
    p.add_argument("--size", type=int, default=0, help="size of the volume in GiB")
    p.add_argument("--name", default="", help="name of the volume (default vol_<id>)")
    p.add_argument("--durability", default="replicate",
                   choices=["replicate", "disperse", "none"], help="durability type")
    p.add_argument("--replica", type=int, default=3, help="replica count for replicate")
    p.add_argument("--disperse-data", type=int, default=4,
                   help="data bricks per set for disperse")
    p.add_argument("--redundancy", type=int, default=2,
                   help="redundancy bricks per set for disperse")
    p.add_argument("--gid", type=int, default=0, help="group id owning the volume's root")
    p.add_argument("--snapshot-factor", type=float, default=1.0,
                   help="space for snapshots: a factor > 1.0, e.g. 1.5")
    p.add_argument("--clusters", default="",
                   help="comma separated cluster ids the volume may be placed in")
    p.add_argument("--gluster-volume-options", default="",
                   help='comma separated volume options, e.g. "performance.rda-cache-limit 10MB"')
    bool_flag(p, "--block", default=False, help="create a block-hosting volume")
    p.add_argument("--persistent-volume", action="store_true",
                   help="print a Kubernetes PersistentVolume for the new volume")
    p.add_argument("--persistent-volume-endpoint", default="",
                   help="endpoints name for the PersistentVolume")
    p.add_argument("--persistent-volume-file", default="",
                   help="write the PersistentVolume JSON to this file")
    group.leaf("list", list_, "Lists the volumes managed by Heketi")
    add_id(group.leaf("info", info, "Retrieves information about the volume"), "volume")
    add_id(group.leaf("delete", delete, "Deletes the volume"), "volume")
    p = group.leaf("expand", expand, "Expand a volume",
                   epilog="example:\n  pyketi-cli volume expand --volume=VOLUME_ID "
                          "--expand-size=10")
    p.add_argument("id", nargs="?", metavar="VOLUME_ID", help="id of the volume")
    p.add_argument("--volume", default="", help="id of the volume to expand")
    p.add_argument("--expand-size", type=int, default=0, help="GiB to add to the volume")
    p = group.leaf("clone", clone, "Creates a clone")
    add_id(p, "volume")
    p.add_argument("--name", default="", help="name of the new volume")
    p = group.leaf("set-block-hosting-restriction", set_block_restriction,
                   "Set restriction on a block hosting volume")
    p.add_argument("restriction", choices=["locked", "unlocked"])
    add_id(p, "volume")
    endpoint = group.group("endpoint", "utilities for working on volume endpoint")
    p = endpoint.leaf("patch", endpoint_patch, "output a patch for endpoint update",
                      json_flag=False,
                      epilog="example:\n  kubectl patch endpoints glusterfs-ep -p "
                             "\"$(pyketi-cli volume endpoint patch VOLUME_ID)\"")
    add_id(p, "volume")
    p = endpoint.leaf("service", endpoint_service,
                      "output the Service for the volume's endpoints (pyketi addition)",
                      json_flag=False,
                      epilog="example:\n  pyketi-cli volume endpoint service VOLUME_ID "
                             "--name=glusterfs-ep | kubectl create -f -")
    add_id(p, "volume")
    p.add_argument("--name", default="",
                   help="name of the Service and its endpoints (default: glusterfs-<first 8 "
                        "characters of the volume id>, the name of the volume's PV)")
