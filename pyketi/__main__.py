import sys

from pyketi.main import main

sys.exit(main())
