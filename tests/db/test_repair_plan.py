"""The drift plan (pyketi.db.repair.plan): each kind of difference between the
database and the nodes, with the action a repair takes - pure, no I/O."""

from pyketi.db.repair import DbBrick, DbVolume, LvInfo, NodeInventory, plan

DEV = "d" * 32
B1, B2, B3, LEFT = "1" * 32, "2" * 32, "3" * 32, "f" * 32
ROOT = "/var/lib/heketi/mounts"


def mount(dev: str, bid: str) -> str:
    return f"{ROOT}/vg_{dev}/brick_{bid}"


def brick(bid: str, host: str, pending: bool = False) -> DbBrick:
    return DbBrick(bid, "v" * 32, host, host, DEV, mount(DEV, bid) + "/brick", f"brick_{bid}",
                   f"tp_{bid}", pending)


def healthy_node(host: str, *bids: str) -> NodeInventory:
    n = NodeInventory(host=host, cluster_id="c", storage=host, devices={DEV})
    for bid in bids:
        n.lvs[(f"vg_{DEV}", f"brick_{bid}")] = LvInfo(f"tp_{bid}", 1048576, 0)
        n.lvs[(f"vg_{DEV}", f"tp_{bid}")] = LvInfo("", 1048576, 8192)
        n.mounts.add(mount(DEV, bid))
        n.fstab.add(mount(DEV, bid))
        n.dirs.add(mount(DEV, bid))
    return n


def world():
    bricks = (brick(B1, "n1"), brick(B2, "n2"), brick(B3, "n3"))
    vol = DbVolume("v" * 32, "vol_a", "c", bricks)
    nodes = [healthy_node("n1", B1), healthy_node("n2", B2), healthy_node("n3", B3)]
    gluster = {"c": {"vol_a": [b.spec for b in bricks]}}
    return [vol], nodes, gluster


def kinds(findings):
    return [(f.kind, f.host, f.action.split(":")[0]) for f in findings]


def test_no_drift_no_finding():
    assert plan(*world()) == []


def test_volume_deleted_by_hand_in_gluster_is_forgotten():
    vols, nodes, gluster = world()
    gluster["c"] = {}
    found = plan(vols, nodes, gluster)
    assert kinds(found) == [("volume-not-in-gluster", "", "forget-volume")]
    assert found[0].args == {"volume": "v" * 32}
    assert "vol_a" in found[0].line() and "not in gluster" in found[0].line()


def test_brick_lv_removed_by_hand_is_recreated():
    vols, nodes, gluster = world()
    del nodes[1].lvs[(f"vg_{DEV}", f"brick_{B2}")]
    nodes[1].mounts.clear()
    found = plan(vols, nodes, gluster)
    assert kinds(found) == [("brick-lv-missing", "n2", "recreate-brick")]
    assert found[0].args == {"brick": B2}


def test_brick_missing_from_the_database_is_adopted_with_lvm_sizes():
    vols, nodes, gluster = world()
    vols[0] = DbVolume(vols[0].id, "vol_a", "c", vols[0].bricks[:2])
    found = plan(vols, nodes, gluster)
    assert kinds(found) == [("brick-not-in-db", "n3", "adopt-brick")]
    assert found[0].args == {"volume": "v" * 32, "spec": f"n3:{mount(DEV, B3)}/brick",
                             "index": "2", "device": DEV, "brick": B3, "size": "1048576",
                             "tp_size": "1048576", "metadata": "8192"}


def test_foreign_brick_in_gluster_is_only_reported():
    vols, nodes, gluster = world()
    gluster["c"]["vol_a"].append("n3:/srv/other/brick")
    assert kinds(plan(vols, nodes, gluster)) == [("brick-not-in-db", "n3", "none")]


def test_leftovers_of_a_failed_operation_are_destroyed_per_brick():
    vols, nodes, gluster = world()
    nodes[0].lvs[(f"vg_{DEV}", f"tp_{LEFT}")] = LvInfo("", 1024, 8)
    nodes[0].fstab.add(mount(DEV, LEFT))
    nodes[0].dirs.add(mount(DEV, LEFT))
    nodes[2].mounts.add(mount(DEV, LEFT))  # only a mount left on another node
    found = plan(vols, nodes, gluster)
    assert kinds(found) == [("leftover-brick", "n1", "destroy-leftover"),
                            ("leftover-brick", "n3", "destroy-leftover")]
    assert found[0].args == {"device": DEV, "brick": LEFT}
    assert f"thin pool vg_{DEV}/tp_{LEFT}" in found[0].subject
    assert f"fstab line {mount(DEV, LEFT)}" in found[0].subject


def test_objects_of_a_pending_operation_are_not_touched():
    vols, nodes, gluster = world()
    nodes[0].lvs[(f"vg_{DEV}", f"brick_{LEFT}")] = LvInfo(f"tp_{LEFT}", 1, 0)
    pending = DbVolume("p" * 32, "vol_new", "c", (brick(LEFT, "n1", pending=True),),
                       pending=True)
    assert plan(vols + [pending], nodes, gluster) == []
    # a brick id known only as a pending brick (e.g. an expand in progress)
    assert plan(vols, nodes, gluster, known_bricks={LEFT}) == []


def test_brick_still_in_a_gluster_volume_is_no_leftover():
    vols, nodes, gluster = world()
    nodes[0].lvs[(f"vg_{DEV}", f"brick_{LEFT}")] = LvInfo(f"tp_{LEFT}", 1, 0)
    gluster["c"]["vol_x"] = [f"n1:{mount(DEV, LEFT)}/brick"]
    assert kinds(plan(vols, nodes, gluster)) == [("volume-not-in-db", "", "none")]


def test_unreachable_node_and_cluster_are_reported_not_judged():
    vols, nodes, gluster = world()
    nodes[1] = NodeInventory(host="n2", cluster_id="c", storage="n2", error="timeout")
    assert kinds(plan(vols, nodes, gluster)) == [("node-unreachable", "n2", "none")]
    # no node of the cluster answered gluster: volumes are not declared deleted
    assert plan(vols, world()[1], {"c": None}) == []
