"""Importers for personal data: mail, browser history and chat exports, indexed incrementally.

Each module reads one kind of source read-only and yields :class:`~leann_cli.sources.base.Item`
records (mail, visits) or :class:`~leann_cli.sources.base.Message` records (chats, which
:mod:`leann_cli.sources.chunk` groups into passages); :mod:`leann_cli.sources.sync` applies the
difference to a named index through the engine's ``add_texts``/``delete``.
"""

from .base import Item, Message, SourceError

__all__ = ["Item", "Message", "SourceError"]
