"""What each SRV does on the emulated devices and in the DCC, one module per domain.

Importing this package registers every effect in behaviours.DEVICE_EFFECTS / NON_DEVICE_REPLIES.
"""

from . import installation  # noqa: F401
from . import supplier  # noqa: F401
from . import firmware, alcs  # noqa: F401
