#!/usr/bin/env bash
# Regenerate constraints.txt: the exact versions of newsarchive's runtime dependencies and all of
# their dependencies (not the dev extra), as pip resolves them today for Python 3.11 on Linux.
#
# Usage: scripts/update_constraints.sh            (PYTHON=python3.11 by default)
#
# It installs the project into a throwaway virtual environment, freezes it, and rewrites
# constraints.txt with the project itself left out. Run it on Linux with the same Python minor
# version as the image (python:3.11-slim-bookworm), then review the diff and run the tests
# before committing: an upgrade is a change like any other.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3.11}"

"$python" - <<'EOF'
import sys

if sys.version_info[:2] != (3, 11) or not sys.platform.startswith("linux"):
    sys.exit(f"need Python 3.11 on Linux to match the image, got {sys.version.split()[0]} on {sys.platform}")
EOF

work="$(mktemp -d)"
trap 'rm -rf -- "$work"' EXIT

# Build from a copy of the sources so that the build leaves nothing behind in the working tree
# (setuptools writes build/ and *.egg-info next to them). In a git checkout copy only the files
# git knows or would add; elsewhere copy everything but the virtual environment.
src="$work/src"
mkdir -p "$src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$root" ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' file; do
            if [[ -f "$root/$file" ]]; then printf '%s\0' "$file"; fi
        done \
        | (cd "$root" && xargs -0 --no-run-if-empty cp --parents --target-directory="$src" --)
else
    tar -C "$root" --exclude=./.venv --exclude=./.git -cf - . | tar -C "$src" -xf -
fi

"$python" -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip --disable-pip-version-check --no-input)
# Resolve with the pip the image uses: the one that comes with the interpreter may be too old to
# match extras the way current metadata spells them (PEP 685: lxml's `html-clean` for justext's
# `lxml[html_clean]`).
pip_pin="$(grep -o 'pip==[0-9][0-9.]*' "$root/Dockerfile" | head -n 1)"
if [[ -z "$pip_pin" ]]; then
    echo "no pip==VERSION in $root/Dockerfile" >&2
    exit 1
fi
"${pip[@]}" install --quiet --no-cache-dir "$pip_pin"
"${pip[@]}" install --quiet --no-cache-dir "$src"
# A freeze never lists pip, setuptools or wheel; nothing at run time needs them.
"${pip[@]}" check

{
    echo "# Exact versions of newsarchive's runtime dependencies (no dev tools), for Python 3.11 on Linux."
    echo "# Used as: pip install -c constraints.txt .   (the Dockerfile does the same)"
    echo "# Regenerate with: scripts/update_constraints.sh   (then review the diff and run the tests)"
    "${pip[@]}" freeze --exclude-editable --exclude newsarchive
} >"$work/constraints.txt"

mv -- "$work/constraints.txt" "$root/constraints.txt"
echo "wrote $root/constraints.txt ($(grep -vc '^#' "$root/constraints.txt") pins)"
