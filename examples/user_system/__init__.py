"""A reference DCC user system (reference.py) and throwaway certificates for it (certificates.py)."""
