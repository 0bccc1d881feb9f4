"""Relational storage of minimal metadata: meetings, facilitators, occurrences, audit.

Never message text, pseudonyms or IP addresses (docs/privacy.md). Tables live with their
domain (``app.auth.models``, ``app.meetings.models``); ``app.store.models`` gathers them so
Alembic sees one metadata.
"""
