import sys

from pyketi.csi.main import main

sys.exit(main())
