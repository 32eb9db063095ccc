"""``Janitor``: runs the library's own recovery (against the library hosted in process)."""

from __future__ import annotations

from harness.locust.zoo_users import LibraryJanitorBase


class Janitor(LibraryJanitorBase):
    fixed_count = 1
