"""Shared pieces of the slash commands: checks, option helpers, autocomplete, views, embeds."""
