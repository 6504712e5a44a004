"""GBCS: the device messages a DCC carries in DUIS (responses, alerts, commands, pre-commands).

Data flows through the package in GBCS's own order: ``frame`` (general ciphering / general signing),
then the cryptography, then the content (DLMS, GBZ, ASN.1) chosen by the use case of the message code.
The framing names stay importable as ``duisconf.gbcs.X`` for the callers that only need the frame.
Whole messages (MAC, signature, decryption, content): ``duisconf.gbcs.message.decode_message`` /
``encode_message``; key sources: ``duisconf.gbcs.keys``; the CLI: ``duisconf gbcs decode`` (``gbcs.cli``).
"""

from .crypto import DecryptionFailed  # noqa: F401

from .frame import (  # noqa: F401
    CRA,
    GENERAL_CIPHERING_TAG,
    GENERAL_SIGNING_TAG,
    MAC_LENGTH,
    SECURITY_CONTROL,
    SIGNATURE_LENGTH,
    GeneralCiphering,
    GeneralSigning,
    GroupingHeader,
    cosem_datetime,
    decode,
    encode_signing,
    message_code_of,
    parse_cosem_datetime,
    sign_precommand,
    verify_precommand_signature,
)
