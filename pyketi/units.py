"""Sizes: pyketi counts space in KiB everywhere, as heketi does (``KB = 1``).

The one definition of the unit constants; ``placement.sizes`` uses heketi's
names for them (``KB``, ``MB``, ``GB``, ``TB``).
"""

KIB = 1
MIB_KIB = 1024 * KIB          # KiB in one MiB
GIB_KIB = 1024 * MIB_KIB      # KiB in one GiB
TIB_KIB = 1024 * GIB_KIB
