"""The embedded DCC emulator: a DCC Boxed look-alike (server, access control, devices, clock, faults)."""
