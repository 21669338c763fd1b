"""Convert every weight file in a directory to TensorFlow's layout with legacyconv's Python API.

    python scripts/bulk_convert.py OLD_DIR NEW_DIR [--spec spec.json] [--pattern "*.npz"] [--force]

Each ``OLD_DIR/name.ext`` becomes ``NEW_DIR/name.npz``. A Keras-1 model file says what each of
its arrays is; bare ``.npz`` files (Lasagne's ``arr_0, arr_1, ...``) need ``--spec`` (start from
``legacyconv inspect FILE --spec-template json``). A file that fails is reported and skipped, and
nothing is written for it; the exit code is 1 if any file failed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from legacyconv import LegacyconvError
from legacyconv.convert import convert_weights
from legacyconv.io import load_weights, save_weights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("src", type=Path, help="directory of legacy weight files")
    parser.add_argument("dst", type=Path, help="directory for the converted .npz files (created)")
    parser.add_argument("--spec", help="JSON/TOML spec applied to every file (for bare .npz files)")
    parser.add_argument("--pattern", default="*", help='glob of the files to convert (default: "*")')
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    args = parser.parse_args(argv)

    args.dst.mkdir(parents=True, exist_ok=True)
    failed = 0
    files = sorted(p for p in args.src.glob(args.pattern) if p.is_file())
    for path in files:
        out = args.dst / f"{path.stem}.npz"
        try:
            weights = load_weights(path)
            spec = None if weights.keras1 is not None else args.spec
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                converted = convert_weights(weights, to="tf", spec=spec)
            save_weights(converted, out, force=args.force)
        except (LegacyconvError, ImportError) as exc:
            failed += 1
            print(f"FAILED {path}: {exc}", file=sys.stderr)
            continue
        for w in caught:
            print(f"warning {path}: {w.message}", file=sys.stderr)
        print(f"ok     {path} -> {out} ({len(converted.arrays)} arrays)")
    print(f"{len(files) - failed} of {len(files)} files converted", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
