"""The failure model, in one place.

MonitorError
 ├── ConfigError      bad or unknown config key, missing seed folder (exit 2 at start)
 ├── FetchError       a feed or article could not be fetched (recorded, never fatal)
 │    └── BlockedAddress  a URL from feed content points at a non-public address
 ├── ExtractionError  a page gave no usable main text (an error on the fetch, never a version)
 └── DeliveryError    the digest could not be delivered (stays pending, retried next run)
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class: the message is one line that names what is wrong and what to do."""


class ConfigError(MonitorError):
    pass


class FetchError(MonitorError):
    pass


class BlockedAddress(FetchError):
    pass


class ExtractionError(MonitorError):
    pass


class DeliveryError(MonitorError):
    pass


class NotYetAvailable(MonitorError):
    """A command whose feature has not landed yet."""
