"""LlamaIndex nodes <-> engine passages, in the format stores written since the adapter began hold.

A passage's text is the string LlamaIndex embeds (``node.get_content(MetadataMode.EMBED)``), so
recomputed embeddings equal LlamaIndex's own. Its metadata is the node's metadata at the top level
(engine filters address the user's keys directly) plus the reserved keys below.

Not ``llama_index``'s ``node_to_metadata_dict``: it stores the node as a JSON string holding the
text and the metadata a second time, and adds ``doc_id``/``document_id``/``ref_doc_id`` keys that
would collide with users' metadata; existing stores hold this format and must keep reopening.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llama_index.core.schema import BaseNode, Document, ImageNode, IndexNode, MetadataMode, Node, TextNode

from leann_engine import SearchResult

NODE_KEY = "_leann_node"  # the rest of the node: relationships, templates, excluded keys, ...
ID_KEY = "_leann_id"  # the node id, so node_ids restrictions are ordinary metadata filters
REF_KEY = "_leann_ref_doc_id"  # the source document id, for delete(ref_doc_id) and doc_ids
RESERVED_KEYS = (NODE_KEY, ID_KEY, REF_KEY)
SPAN_KEY = "text_span"  # inside NODE_KEY: where node.text sits in the stored (embedded) text
# A related node's metadata that equals the node's own (what splitters produce) is stored as this.
SAME_METADATA = "$node"

_NODE_CLASSES: dict[str, type[BaseNode]] = {
    cls.class_name(): cls for cls in (TextNode, Document, ImageNode, IndexNode, Node)
}


def node_to_passage(node: BaseNode) -> tuple[str, dict[str, Any]]:
    """The text to store (what LlamaIndex embeds) and the passage metadata for ``node``."""
    text = node.get_content(metadata_mode=MetadataMode.EMBED)
    dump = node.model_dump(mode="json")
    meta = dump.pop("metadata", None) or {}
    clash = [k for k in RESERVED_KEYS if k in meta]
    if clash:
        raise ValueError(f"node {node.node_id} metadata uses reserved key(s) {clash}; rename them")
    dump.pop("embedding", None)
    dump.pop("id_", None)
    body = dump.get("text")
    # The node's own text is nearly always a substring of the embedded string; keep only its
    # position then, so the text is not stored twice.
    if isinstance(body, str):
        start = text.find(body)
        if start >= 0:
            del dump["text"]
            dump[SPAN_KEY] = [start, start + len(body)]
    for rel in _related(dump):
        if meta and rel.get("metadata") == meta:
            rel["metadata"] = SAME_METADATA
    meta[NODE_KEY] = dump
    meta[ID_KEY] = node.node_id
    meta[REF_KEY] = node.ref_doc_id
    return text, meta


def passage_to_node(rec: SearchResult) -> BaseNode:
    """Rebuild the LlamaIndex node stored as passage ``rec``."""
    meta = dict(rec.metadata)
    dump = dict(meta.pop(NODE_KEY, None) or {})
    for k in RESERVED_KEYS:
        meta.pop(k, None)
    if not dump:  # a passage written without LlamaIndex (engine, CLI): a plain TextNode
        return TextNode(id_=rec.id, text=rec.text, metadata=meta)
    span = dump.pop(SPAN_KEY, None)
    if span is not None:
        dump["text"] = rec.text[span[0] : span[1]]
    for rel in _related(dump):
        if rel.get("metadata") == SAME_METADATA:
            rel["metadata"] = dict(meta)
    dump["id_"] = rec.id
    dump["metadata"] = meta
    cls = _NODE_CLASSES.get(str(dump.pop("class_name", "TextNode")), TextNode)
    return cls.model_validate(dump)


def _related(dump: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The serialised RelatedNodeInfo dicts of a node dump (a CHILD relationship is a list)."""
    for rel in (dump.get("relationships") or {}).values():
        for item in rel if isinstance(rel, list) else [rel]:
            if isinstance(item, dict):
                yield item
