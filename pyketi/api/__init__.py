"""HTTP only: routes parse requests (``validation``), check roles (``auth``) and render
replies (heketi's shapes: ``pyketi.shapes``). A handler never queries the database
itself: reads are ``pyketi.db.queries`` functions, changes are ``pyketi.operations``
use cases (``tests/test_layering.py`` keeps it so)."""
