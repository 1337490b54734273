"""The news core: sources, fetching, parsing, storage, condensing and digests.

Nothing in this package imports discord; the command line and the bot both use
:class:`bot.news.service.NewsService` and nothing else.
"""
