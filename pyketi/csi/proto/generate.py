"""Regenerate ``csi_pb2.py`` / ``csi_pb2_grpc.py`` from ``csi.proto``.

    python -m pyketi.csi.proto.generate

Needs ``grpcio-tools`` (a developer tool, not a runtime dependency: the
generated modules are committed).  The proto is compiled under its own
name, ``csi.proto``, as upstream does; the one import the gRPC module makes
of the message module is rewritten to the package path.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    from grpc_tools import protoc  # type: ignore[import-untyped]
    import grpc_tools

    include = str(Path(grpc_tools.__file__).parent / "_proto")
    rc = protoc.main(["protoc", f"-I{HERE}", f"-I{include}",
                      f"--python_out={HERE}", f"--grpc_python_out={HERE}",
                      str(HERE / "csi.proto")])
    if rc != 0:
        return rc
    grpc_module = HERE / "csi_pb2_grpc.py"
    text = grpc_module.read_text()
    text, n = re.subn(r"^import csi_pb2 as csi__pb2$",
                      "from pyketi.csi.proto import csi_pb2 as csi__pb2", text,
                      flags=re.M)
    if n != 1:
        print("generate: could not rewrite the csi_pb2 import", file=sys.stderr)
        return 1
    grpc_module.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
