"""Device and service backends, real and simulated side by side.

Each backend implements one protocol from `kiosk.ports`; configuration picks
which one runs. Libraries for real hardware are imported lazily so that the
kiosk boots, and explains itself, on a machine without them.
"""
