"""heketi's files for the tests: its JSON export (tests/server/data/heketi-export.json, a
replica-3 and a plain volume on three nodes, as heketi v10 writes it), the dbattribute keys
heketi knows, and a stand-in for its BoltDB file."""

from __future__ import annotations

from pathlib import Path

HEKETI_EXPORT = Path(__file__).parent / "data" / "heketi-export.json"
# every dbattribute key heketi knows; any other makes heketi refuse the database
HEKETI_ATTRIBUTES = {"DB_BRICK_HAS_SUBTYPE_FIELD", "DB_CLUSTER_HAS_FILE_BLOCK_FLAG",
                     "DB_GENERATION_ID", "DB_HAS_PENDING_OPS_BUCKET", "DB_DEVICE_HAS_ID_META"}


def write_boltdb(path: Path) -> bytes:
    """A file that starts as a Bolt database does: a 16-byte page header, then the meta
    page's magic 0xED0CDAED.  Returns its content."""
    content = bytes(16) + (0xED0CDAED).to_bytes(4, "little") + bytes(4076)
    path.write_bytes(content)
    return content
