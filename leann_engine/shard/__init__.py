"""Sharded indexes: one index folder made of several normal indexes, built in parallel (local
processes or Ray) and searched by fanning a query out and merging exact scores.

``layout`` (shard assignment, the top manifest, the commit), ``work`` (what a worker does),
``build`` (local processes), ``ray_exec`` (Ray Data and actors), ``searcher`` and ``index``
(what ``LeannSearcher``/``LeannIndex`` open for a sharded folder).
"""
