"""One exception family for the whole library; each class carries the CLI exit code it maps to.

The codes keep DCC's signing tool conventions where they exist (3 missing key material, 10 schema
failure) so scripts written for that tool read ours the same way.
"""


class DuisConfError(Exception):
    """Base of every error duisconf raises on purpose. The message is one line a user can act on."""

    exit_code = 1


class InvalidInput(DuisConfError):
    """Malformed XML, a DOCTYPE, an unknown SRV, a bad parameter: the input itself is wrong."""

    exit_code = 4


class ConfigError(DuisConfError):
    """A configuration file or option is wrong; the message names the file and the key."""

    exit_code = 5


class DataPackageMissing(DuisConfError):
    """One of DCC's npm data packages is not installed where we look for it."""

    exit_code = 6


class KeyMaterialMissing(DuisConfError):
    """No signing key or certificate for the identity asked for."""

    exit_code = 3


class SchemaInvalid(DuisConfError):
    """The document does not validate against the configured DUIS XSD."""

    exit_code = 10


class SignatureInvalid(DuisConfError):
    """The XML signature is missing, made by an untrusted key, or does not match the signed bytes."""

    exit_code = 11


class PreconditionNotMet(DuisConfError):
    """A scenario's precondition could not be reached on this target (a device stayed leased, a device is
    not in the state the scenario needs and the target cannot be arranged): inconclusive, not a failure."""

    exit_code = 7


class BundleRefused(DuisConfError):
    """A scenario that must pass did not: no final bundle is issued (a draft can be)."""

    exit_code = 13


class KeyMaterialFound(DuisConfError):
    """Private key material in what would go into an evidence bundle: nothing is written."""

    exit_code = 12


class ArtefactMismatch(DuisConfError):
    """An evidence bundle whose artefacts are not the ones its signed manifest lists."""

    exit_code = 4
