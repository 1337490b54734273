"""A loopback stand-in of Discord (gateway + REST v10) for end-to-end tests of the real bot.

Every request is checked against Discord's own OpenAPI spec (data/openapi.json) and the limits
the spec leaves out; see README.md beside this file.
"""

from tests.discord_standin.faults import Fault
from tests.discord_standin.interactions import CommandNotAvailable
from tests.discord_standin.standin import DiscordStandIn
from tests.discord_standin.state import InteractionRecord, Webhook
from tests.discord_standin.validate import mentions_in

__all__ = [
    "CommandNotAvailable",
    "DiscordStandIn",
    "Fault",
    "InteractionRecord",
    "Webhook",
    "mentions_in",
]
