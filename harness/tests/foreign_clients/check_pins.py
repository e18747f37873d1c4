"""Exit 0 when this interpreter has exactly the versions pinned in the requirements file given as
the only argument (`name==version` lines); else print what differs and exit 1. The Rust test runs
it with the venv's python to decide whether the cached venv can be reused."""

import importlib.metadata
import sys


def main(path):
    wrong = []
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, pinned = line.partition("==")
        try:
            installed = importlib.metadata.version(name.strip())
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != pinned.strip():
            wrong.append(f"{name.strip()}: pinned {pinned.strip()}, installed {installed or 'none'}")
    for w in wrong:
        print(w)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
