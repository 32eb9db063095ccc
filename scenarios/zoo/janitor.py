"""``ZooJanitor``: runs the library's own recovery (against the library hosted in process)."""

from __future__ import annotations

from harness.locust.library import library_requested
from harness.locust.zoo_users import LibraryJanitorBase


class ZooJanitor(LibraryJanitorBase):
    abstract = not library_requested()  # inert under `locust -f scenarios`
    fixed_count = 1
