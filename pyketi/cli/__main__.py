import sys

from pyketi.cli.main import main

sys.exit(main())
