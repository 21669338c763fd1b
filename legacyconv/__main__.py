"""``python -m legacyconv …``: the same command as the ``legacyconv`` console script."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
