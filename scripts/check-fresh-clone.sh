#!/usr/bin/env bash
# What a newcomer does on a fresh clone, offline: npm install → npx ergon --help →
# npx ergon new <dir> → in it npm install && npm test && npm run typecheck, with one copy of
# rxjs. The "clone" is every file git would commit (tracked and not ignored) of this working
# tree. The clone installs from its lockfile out of the npm cache (--offline); the scaffold
# resolves its tools from the cache too (--prefer-offline), and gets ergon-rx from its vendor/
# tarball: nothing unpublished is needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/clone"
(cd "$root" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$root" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
  (cd "$work/clone" && tar -xf -)
cd "$work/clone"
npm install --offline --no-audit --no-fund
npx ergon --help > /dev/null
npx ergon new "$work/demo"

cd "$work/demo"
npm install --prefer-offline --no-audit --no-fund
npm test
npm run typecheck
copies=$(npm ls rxjs --all --parseable | sort -u | wc -l)
if [ "$copies" -ne 1 ]; then echo "rxjs installed $copies times"; npm ls rxjs --all; exit 1; fi
echo "fresh clone ok: ergon new's project installs, tests and type-checks with one rxjs"
