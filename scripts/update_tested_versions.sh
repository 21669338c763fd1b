#!/usr/bin/env bash
# Move the tested set forward: install the newest releases pip picks for the test extra (no
# constraints) into a scratch venv, run what CI runs, and only if all of it passes rewrite
# constraints/tested.txt with exactly what was installed. Review and commit the diff.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)/venv
python3 -m venv "$venv"
"$venv/bin/pip" install -q -U pip
"$venv/bin/pip" install -q -e ".[test]"
VENV="$venv" bash .ci/run
{
  echo "# The versions CI was last green with ($("$venv/bin/python" -c 'import platform; print(platform.python_implementation(), platform.python_version(), platform.system(), platform.machine())')): pip install -c constraints/tested.txt ..."
  echo "# Regenerate with scripts/update_tested_versions.sh (see README, Development). Constraints pin; they install nothing."
  "$venv/bin/pip" freeze --all --exclude-editable | grep -v -e "^legacyconv" -e "^pip==" -e "^setuptools==" | sort -f
} > constraints/tested.txt
echo "constraints/tested.txt updated; git diff constraints/ shows what moved"
