"""Slash-command adapters: parse the options, call one service method, render, reply."""

#: loaded by the bot's setup_hook, in this order (errors first: it installs the handler)
EXTENSIONS = (
    "cogs.errors",
    "cogs.digest",
    "cogs.search",
    "cogs.story",
    "cogs.topics",
    "cogs.sources",
    "cogs.subscriptions",
    "cogs.status",
    "cogs.notices",
)
