"""Canonical JSON and the hashes built on it: one definition for specs, requests and digests."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(payload: Any) -> str:
    """Sorted keys, no spaces: equal payloads give equal text whatever their key order."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def content_hash(payload: Any) -> str:
    """sha256 of the canonical JSON: the identity of a request's content."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def input_digest(*parts: str) -> str:
    """sha256 identifying a run's inputs: content hashes, data source and dataset version."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


class Canonical:
    """For request types with ``to_payload()``: their canonical JSON and content hash."""

    def to_payload(self) -> dict[str, Any]:
        raise NotImplementedError

    def canonical_json(self) -> str:
        return canonical_json(self.to_payload())

    def content_hash(self) -> str:
        """Equal requests hash equal, whatever the order of their fields."""
        return content_hash(self.to_payload())
