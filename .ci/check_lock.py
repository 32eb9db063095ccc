"""Check that the venv holds exactly the versions pinned in the lock (constraints.txt).

Run by `make` right after installing. Every installed distribution but qharness itself
must be pinned in the lock at the installed version. A miss means the lock is stale (a
dependency was added or changed without `make lock`): an error under CI (`CI` set),
where the suite must run on exactly the locked versions, a warning elsewhere.
Usage: python .ci/check_lock.py constraints.txt
"""

from __future__ import annotations

import os
import re
import sys
from importlib.metadata import distributions
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;#]+)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    out = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            out[normalize(match.group(1))] = match.group(2)
    return out


def misses(lock: Path) -> list[str]:
    pinned = pins(lock)
    found = []
    for dist in distributions():
        name = normalize(dist.metadata["Name"] or "")
        if not name or name == "qharness":
            continue
        if name not in pinned:
            found.append(f"{name} {dist.version} is not in {lock}")
        elif pinned[name] != dist.version:
            found.append(f"{name} {dist.version} is installed, {lock} pins {pinned[name]}")
    return sorted(set(found))


def main() -> int:
    lock = Path(sys.argv[1] if len(sys.argv) > 1 else "constraints.txt")
    problems = misses(lock)
    if not problems:
        return 0
    strict = os.environ.get("CI", "").lower() not in ("", "0", "false")
    word = "error" if strict else "warning"
    for problem in problems:
        print(f"{word}: {problem}", file=sys.stderr)
    print(f"{word}: the lock is stale; refresh it with `make lock`", file=sys.stderr)
    return 1 if strict else 0


if __name__ == "__main__":
    sys.exit(main())
