#!/usr/bin/env bash
# mypy over every package of binwatch, as installed: binwatch.datasets, binwatch.edge, …
# The packages live in top-level folders mapped by pyproject's package-dir; an editable install
# serves that mapping with an import hook, which type checkers do not run. So mypy reads the
# sources through a tree of symbolic links laid out as the wheel installs them (build/typecheck).
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/typecheck
rm -rf "$tree"
mkdir -p "$tree/binwatch"
.venv/bin/python - "$tree" <<'PY'
import os, sys, tomllib
tree = sys.argv[1]
mapping = tomllib.load(open("pyproject.toml", "rb"))["tool"]["setuptools"]["package-dir"]
for package, folder in mapping.items():
    link = os.path.join(tree, *package.split("."))
    if package == "binwatch":
        for name in os.listdir(folder):
            if name.endswith(".py"):
                os.symlink(os.path.abspath(os.path.join(folder, name)), os.path.join(link, name))
    else:
        os.symlink(os.path.abspath(folder), link)
PY
cd "$tree"
exec ../../.venv/bin/mypy --config-file ../../pyproject.toml -p binwatch "$@"
