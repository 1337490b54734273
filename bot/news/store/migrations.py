"""Numbered schema migrations, one list for both engines, applied in order when the store opens.

A migration is SQL shared by both engines (translated by :meth:`Dialect.ddl`: 64-bit integers
and identity ids on PostgreSQL), or a tuple of such parts and ``{"sqlite": ..., "postgresql":
...}`` dicts for what only one engine says (the search index). SQLite records the last one
applied in ``PRAGMA user_version``, PostgreSQL in the ``briefbot_schema`` table. Never edit a
released migration: append a new one. Times are stored as integer Unix seconds (UTC).
"""

from __future__ import annotations

from collections.abc import Iterator

from bot.news.store.dialect import Dialect

Migration = str | tuple[str | dict[str, str], ...]

MIGRATIONS: tuple[Migration, ...] = (
    # 1: sources, stories with identity keys and tombstones, full-text index
    (
        """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        interval_s INTEGER NOT NULL,
        backfill INTEGER NOT NULL DEFAULT 0,
        full_text INTEGER NOT NULL DEFAULT 0,
        etag TEXT,
        last_modified TEXT,
        last_polled INTEGER,
        last_success INTEGER,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_poll INTEGER,
        key_mode TEXT NOT NULL DEFAULT 'guid',
        created INTEGER NOT NULL
    );

    -- who owns a source: 'global' (config or command line) or 'guild:<id>'
    CREATE TABLE source_scopes (
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        scope TEXT NOT NULL,
        from_config INTEGER NOT NULL DEFAULT 0,
        added INTEGER NOT NULL,
        PRIMARY KEY (source_id, scope)
    ) WITHOUT ROWID;
    CREATE INDEX source_scopes_scope ON source_scopes(scope);

    CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        url TEXT,
        guid TEXT,
        title TEXT NOT NULL,
        published INTEGER NOT NULL,
        updated INTEGER,
        date_estimated INTEGER NOT NULL DEFAULT 0,
        first_seen INTEGER NOT NULL,
        author TEXT,
        content_html TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        categories TEXT NOT NULL DEFAULT '[]',
        image TEXT,
        headline TEXT NOT NULL DEFAULT '',
        lead TEXT NOT NULL DEFAULT '',
        points TEXT NOT NULL DEFAULT '[]',
        topics TEXT NOT NULL DEFAULT '[]',
        content_hash TEXT NOT NULL DEFAULT '',
        cluster_id INTEGER,
        -- 1: part of a source's first-poll backlog; never announced to a channel
        backlog INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX stories_published ON stories(published);
    CREATE INDEX stories_source ON stories(source_id, published);
    CREATE INDEX stories_url ON stories(url);
    CREATE INDEX stories_cluster ON stories(cluster_id);

    -- every key a source ever gave a story; story_id NULL once the story was pruned
    -- (a tombstone: the key is still known, so the story is never new again)
    CREATE TABLE story_keys (
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        story_id INTEGER REFERENCES stories(id) ON DELETE SET NULL,
        PRIMARY KEY (source_id, key)
    ) WITHOUT ROWID;
    CREATE INDEX story_keys_story ON story_keys(story_id);

    CREATE TABLE story_topics (
        topic TEXT NOT NULL,
        story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        rank INTEGER NOT NULL,
        PRIMARY KEY (topic, story_id)
    ) WITHOUT ROWID;
    CREATE INDEX story_topics_story ON story_topics(story_id);

    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
        {
            "sqlite": """
    CREATE VIRTUAL TABLE stories_fts USING fts5(
        title, text, content='stories', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER stories_fts_insert AFTER INSERT ON stories BEGIN
        INSERT INTO stories_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END;
    CREATE TRIGGER stories_fts_delete AFTER DELETE ON stories BEGIN
        INSERT INTO stories_fts(stories_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
    END;
    CREATE TRIGGER stories_fts_update AFTER UPDATE OF title, text ON stories BEGIN
        INSERT INTO stories_fts(stories_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO stories_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END;
            """,
            "postgresql": """
    ALTER TABLE stories ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', left(title, 2000)), 'A')
        || setweight(to_tsvector('english', left(text, 200000)), 'B')
    ) STORED;
    CREATE INDEX stories_search ON stories USING gin (search);
            """,
        },
    ),
    # 2: subscriptions, what each channel was sent, and the delivery outbox
    """
    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL,
        channel_id INTEGER,
        webhook_url TEXT,
        topics TEXT NOT NULL DEFAULT '[]',
        schedule TEXT NOT NULL,
        timezone TEXT NOT NULL DEFAULT 'UTC',
        created INTEGER NOT NULL,
        last_run INTEGER,
        paused_reason TEXT,
        from_config INTEGER NOT NULL DEFAULT 0,
        CHECK ((channel_id IS NULL) <> (webhook_url IS NULL))
    );
    CREATE UNIQUE INDEX subscriptions_channel ON subscriptions(scope, channel_id)
        WHERE channel_id IS NOT NULL;

    -- a story (by cluster) that a target (channel:<id> or webhook:<sub id>) was sent
    CREATE TABLE posted (
        target TEXT NOT NULL,
        cluster_id INTEGER NOT NULL,
        posted_at INTEGER NOT NULL,
        PRIMARY KEY (target, cluster_id)
    ) WITHOUT ROWID;

    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        subscription_id INTEGER REFERENCES subscriptions(id) ON DELETE SET NULL,
        target TEXT NOT NULL,
        cluster_ids TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | failed
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created INTEGER NOT NULL,
        sent_at INTEGER
    );
    CREATE INDEX deliveries_status ON deliveries(status);

    CREATE TABLE delivery_parts (
        delivery_id INTEGER NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        payload TEXT NOT NULL,
        nonce TEXT NOT NULL UNIQUE,
        message_id TEXT,
        PRIMARY KEY (delivery_id, seq)
    ) WITHOUT ROWID;
    """,
    # 3: cached LLM condensing results, keyed by a hash of model + title + text
    """
    CREATE TABLE llm_cache (
        key TEXT PRIMARY KEY,
        result TEXT NOT NULL,
        created INTEGER NOT NULL
    ) WITHOUT ROWID;
    """,
    # 4: a source that repeats one story under a second URL/guid (same title and body)
    """
    CREATE INDEX stories_source_hash ON stories(source_id, content_hash);
    """,
    # 5: the outlets of each cluster, once per source: counting a big event's outlets
    # must not read every one of its stories
    """
    CREATE TABLE cluster_outlets (
        cluster_id INTEGER NOT NULL,
        source_id INTEGER NOT NULL,
        first INTEGER NOT NULL,
        PRIMARY KEY (cluster_id, source_id)
    ) WITHOUT ROWID;
    CREATE INDEX cluster_outlets_first ON cluster_outlets(cluster_id, first);
    INSERT INTO cluster_outlets (cluster_id, source_id, first)
        SELECT cluster_id, source_id, min(published) FROM stories
        WHERE cluster_id IS NOT NULL GROUP BY cluster_id, source_id;
    """,
    # 6: scale-out. Leases on sources and deliveries (a worker or bot process claims rows for
    # a while; a vanished one's claims run out); one row per story URL, so that two workers
    # storing the same link at once end with one story (the database decides who won); stories
    # wait in cluster_waiting until the one clustering process has placed them (a row of its
    # own: marking a flag on every story row rewrote each wide row once more); a scheduled
    # digest has a run key, so two processes scheduling it enqueue it once; subscriptions
    # keep their filters
    """
    ALTER TABLE sources ADD COLUMN lease_owner TEXT;
    ALTER TABLE sources ADD COLUMN lease_until INTEGER;
    CREATE INDEX sources_due ON sources(next_poll);

    CREATE TABLE story_urls (
        url TEXT PRIMARY KEY,
        story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE
    );
    CREATE INDEX story_urls_story ON story_urls(story_id);
    INSERT INTO story_urls (url, story_id)
        SELECT url, min(id) FROM stories WHERE url IS NOT NULL GROUP BY url;
    -- links are looked up in story_urls now: one index less to keep on every insert
    DROP INDEX stories_url;

    CREATE TABLE cluster_waiting (
        story_id INTEGER PRIMARY KEY REFERENCES stories(id) ON DELETE CASCADE
    );

    ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
    ALTER TABLE deliveries ADD COLUMN lease_until INTEGER;
    ALTER TABLE deliveries ADD COLUMN run_key TEXT;
    CREATE UNIQUE INDEX deliveries_run ON deliveries(run_key) WHERE run_key IS NOT NULL;

    -- a subscription's filters (bot/news/filters.py), as Filters.to_json() text
    ALTER TABLE subscriptions ADD COLUMN filters TEXT NOT NULL DEFAULT '{}';
    """,
    # 7: topics an admin set
    # for a story in one scope ('global' or 'guild:<id>'), with the text the tagger read, so
    # the correction stays a labelled example after its story is pruned; and the text of
    # article pages fetched for feeds that carry only a teaser, by canonical URL ('' when the
    # page gave none, so it is not fetched again)
    """
    CREATE TABLE topic_corrections (
        scope TEXT NOT NULL,
        story_id INTEGER NOT NULL,
        topics TEXT NOT NULL,
        headline TEXT NOT NULL,
        body TEXT NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (scope, story_id)
    ) WITHOUT ROWID;

    CREATE TABLE article_texts (
        url TEXT PRIMARY KEY,
        text TEXT NOT NULL,
        fetched INTEGER NOT NULL
    ) WITHOUT ROWID;
    """,
    # 8: per-server notices. Where a server's own notices go (a channel, off, or paused when
    # that channel refuses them), and a ledger of the incidents each server was told about:
    # its key decides, also between several processes, that an incident is told once. A
    # source remembers since when its polls flood the per-poll cap; a subscription when it
    # was paused (the incident's number)
    """
    CREATE TABLE notice_settings (
        scope TEXT PRIMARY KEY,
        channel_id INTEGER,
        off INTEGER NOT NULL DEFAULT 0,
        paused_reason TEXT,
        updated INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE notice_incidents (
        scope TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject_id INTEGER NOT NULL,
        incident INTEGER NOT NULL,
        opened INTEGER NOT NULL,
        closed INTEGER,
        PRIMARY KEY (scope, kind, subject_id, incident)
    ) WITHOUT ROWID;
    CREATE INDEX notice_incidents_open ON notice_incidents(scope, kind) WHERE closed IS NULL;

    ALTER TABLE sources ADD COLUMN flood_since INTEGER;
    ALTER TABLE sources ADD COLUMN flood_note TEXT;
    ALTER TABLE subscriptions ADD COLUMN paused_at INTEGER;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def script(migration: Migration, dialect: Dialect) -> str:
    """The SQL of one migration for one engine."""
    parts = (migration,) if isinstance(migration, str) else migration
    return "\n".join(_parts(parts, dialect))


def _parts(parts, dialect: Dialect) -> Iterator[str]:
    for part in parts:
        if isinstance(part, dict):
            yield part[dialect.name]
        else:
            yield dialect.ddl(part)
