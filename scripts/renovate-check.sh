#!/usr/bin/env bash
# Runs Renovate itself against a git repository that uses gpm, with the
# preset of this repository (renovate/default.json), and checks that it finds
# the updates; then does what the merge request would: rewrites the
# constraint as Renovate does and runs the preset's post-upgrade command,
# showing the changed packages.toml and packages.lock.
#
# It is too slow for CI (Renovate is a ~440 MB npm install); docs/renovate.md
# records its output and the Renovate version used. The fast check of the
# preset's regexes is renovate/preset_test.go (go test ./renovate/).
#
# Renovate's local platform only looks up (it never writes files, creates
# branches or runs post-upgrade tasks), so the script applies the update the
# way Renovate's autoReplace does (currentValue -> newValue inside the
# extracted version line) and runs the post-upgrade command itself.
#
# Usage: scripts/renovate-check.sh [PATH-TO-GPM]   (default: bin/gpm)
#   RENOVATE   the renovate command (default: renovate on PATH); it needs
#              Node ^24.11 first on PATH, e.g.
#                npm install --prefix /opt/node24 node@24
#                npm install --prefix /opt/renovate renovate@44.121.2
#                PATH=/opt/node24/node_modules/.bin:$PATH \
#                  RENOVATE=/opt/renovate/node_modules/.bin/renovate scripts/renovate-check.sh
#
# Expected result (exit 0): Renovate proposes the versions outside each
# constraint, keeping its style (it does not read packages.lock, and ignores
# rangeStrategy for custom managers, so in-range releases are gpm update's):
#   cli-tool ^1.2.0 -> ^2.0.0 (2.0.0, major)       (1.3.0 is in range)
#   helper   ~0.3.1 -> ~0.4.0 (0.4.0, minor)       (0.3.2 is in range)
# and skips the entries it cannot express: schemas (=2024.06-b3, not semver),
# legacy (">=1.0, <2", a comma range) and mirror ([registries.partner],
# skipped by the preset's package rule until one gives its URL). After the
# update of cli-tool and its post-upgrade command, packages.toml says ^2.0.0,
# the lock pins exactly 2.0.0 and `gpm install --locked` passes.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gpm=${1:-$root/bin/gpm}
gpm=$(cd "$(dirname "$gpm")" && pwd)/$(basename "$gpm")
renovate=${RENOVATE:-renovate}
if [ ! -x "$gpm" ]; then
	echo "renovate-check: $gpm is not built; run 'make build' first" >&2
	exit 1
fi
command -v "$renovate" >/dev/null || { echo "renovate-check: $renovate not found; set RENOVATE (see the header of this script)" >&2; exit 1; }
command -v node >/dev/null || { echo "renovate-check: node not found" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gpm-renovate.XXXXXX")
server_pid=
cleanup() {
	status=$?
	set +e
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -INT "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	if [ "$status" -ne 0 ]; then
		echo "renovate-check: FAILED (work directory kept: $work)" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

unset GITLAB_TOKEN CI_JOB_TOKEN CI_SERVER_URL CI_PROJECT_ID CI_COMMIT_TAG GITLAB_CI GPM_TOKEN_TYPE NETRC
export GPM_CACHE="$work/cache" NO_COLOR=1
step() { printf '\n# %s\n' "$*"; }
fail() { echo "renovate-check: $*" >&2; exit 1; }

step "gpm serve with a publishing token and a read-only one (for Renovate)"
cd "$work"
printf '%s\n' publish-token "read renovate-read-token" >tokens
"$gpm" serve --addr 127.0.0.1:0 --dir registry --token-file tokens --addr-file addr 2>serve.log &
server_pid=$!
for _ in $(seq 200); do
	[ -s addr ] && break
	kill -0 "$server_pid" 2>/dev/null || { cat serve.log >&2; exit 1; }
	sleep 0.05
done
url=$(cat addr)
echo "registry: $url"
publish() { # package version
	mkdir -p "files/$1-$2"
	printf '%s %s\n' "$1" "$2" >"files/$1-$2/$1.txt"
	(cd "files/$1-$2" && GPM_TOKEN=publish-token "$gpm" -q publish --registry "$url" --project demo/tools --package "$1" --version "$2" "$1.txt" >/dev/null)
	echo "published $1 $2"
}
publish cli-tool 1.2.0
publish helper 0.3.1
publish schemas 2024.06-b3

step "A repository with packages.toml and packages.lock, and the preset as its renovate.json"
mkdir repo
cd repo
cat >packages.toml <<EOF
[registry]
url = "$url"
token = { env = "GPM_TOKEN" }

[registries.partner]
url = "$url"
token = { env = "GPM_TOKEN" }

[packages.cli-tool]
project = "demo/tools"
version = "^1.2.0"

[packages.helper]
project = "demo/tools"
version = "~0.3.1"

[packages.schemas]
project = "demo/tools"
version = "=2024.06-b3"

[packages.legacy]
project = "demo/tools"
package = "cli-tool"
version = ">=1.0, <2"

[packages.mirror]
project = "demo/tools"
package = "helper"
registry = "partner"
version = "^0.3.0"
EOF
export GPM_TOKEN=renovate-read-token
"$gpm" install --no-progress
printf 'vendor/\n' >.gitignore
cp "$root/renovate/default.json" renovate.json
git init -q -b main .
git -c user.name=check -c user.email=check@example.com add -A
git -c user.name=check -c user.email=check@example.com commit -q -m "packages.toml and packages.lock"
cd ..

step "Newer versions are published"
publish cli-tool 1.3.0
publish cli-tool 2.0.0
publish helper 0.3.2
publish helper 0.4.0
publish schemas 2024.07

step "renovate --platform=local (lookup only), Renovate $("$renovate" --version)"
cat >global.json <<EOF
{
  "onboarding": false,
  "requireConfig": "optional",
  "enabledManagers": ["custom.regex"],
  "cacheDir": "$work/renovate-cache",
  "baseDir": "$work/renovate-base",
  "hostRules": [{"matchHost": "127.0.0.1", "hostType": "gitlab-packages", "token": "renovate-read-token"}]
}
EOF
(cd repo && RENOVATE_CONFIG_FILE="$work/global.json" LOG_LEVEL=debug LOG_FORMAT=json "$renovate" --platform=local >"$work/renovate.log" 2>&1) ||
	{ tail -n 30 renovate.log >&2; fail "renovate failed"; }
# The "packageFiles with updates" debug record holds every dependency and
# its updates; print them one per line.
node - "$work/renovate.log" >deps.txt <<'EOF'
const fs = require("fs");
const lines = fs.readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean);
let found = null;
for (const l of lines) {
  let r;
  try { r = JSON.parse(l); } catch { continue; }
  if (r.msg === "packageFiles with updates") found = r.config;
  if (r.level >= 40) console.error(`renovate: ${r.msg}`);
}
if (!found) { console.error("no 'packageFiles with updates' record"); process.exit(1); }
// Custom managers appear under their type ("regex").
const files = found["regex"] ?? [];
for (const pf of files) {
  for (const d of pf.deps) {
    const what = d.skipReason ? `skipped: ${d.skipReason}` :
      (d.updates ?? []).map((u) => `-> ${u.newValue} (${u.newVersion}, ${u.updateType})`).join(" ");
    console.log(`${pf.packageFile} ${d.depName} ${d.depType} ${d.packageName} ${d.currentValue} ${what || "no update"}`);
  }
}
fs.writeFileSync("deps.json", JSON.stringify(files));
EOF
cat deps.txt
expect() { grep -qF -- "$1" deps.txt || fail "expected in Renovate's result: $1"; }
expect "packages.toml cli-tool registry demo/tools:cli-tool ^1.2.0 -> ^2.0.0 (2.0.0, major)"
expect "packages.toml helper registry demo/tools:helper ~0.3.1 -> ~0.4.0 (0.4.0, minor)"
expect "packages.toml schemas registry demo/tools:schemas =2024.06-b3 skipped:"
expect "packages.toml legacy registry demo/tools:cli-tool >=1.0, <2 skipped:"
expect "packages.toml mirror registries.partner demo/tools:helper ^0.3.0 skipped: disabled"

step "The merge request for cli-tool 2.0.0: Renovate's rewrite, then the preset's post-upgrade command"
cd repo
cmd=$(node - ../deps.json renovate.json cli-tool 2.0.0 <<'EOF'
// Rewrites packages.toml as Renovate's autoReplace does (currentValue ->
// newValue inside the dependency's replaceString) and prints the
// post-upgrade command of the preset with its template filled in.
const fs = require("fs");
const [depsFile, presetFile, name, version] = process.argv.slice(2);
const dep = JSON.parse(fs.readFileSync(depsFile, "utf8"))[0].deps.find((d) => d.depName === name);
const upd = dep.updates.find((u) => u.newVersion === version);
const toml = fs.readFileSync("packages.toml", "utf8");
const at = toml.indexOf(dep.replaceString);
if (at < 0) throw new Error("replaceString not found");
const replaced = dep.replaceString.replace(dep.currentValue, upd.newValue);
fs.writeFileSync("packages.toml", toml.slice(0, at) + replaced + toml.slice(at + dep.replaceString.length));
const rule = JSON.parse(fs.readFileSync(presetFile, "utf8")).packageRules.find((r) => r.postUpgradeTasks);
for (const c of rule.postUpgradeTasks.commands)
  console.log(c.replaceAll("{{{depName}}}", dep.depName).replaceAll("{{{newVersion}}}", upd.newVersion));
EOF
)
echo "\$ $cmd"
read -r -a argv <<<"$cmd"
[ "${argv[0]}" = gpm ] || fail "post-upgrade command does not start with gpm: $cmd"
"$gpm" "${argv[@]:1}"
git --no-pager diff --stat
git --no-pager diff -- packages.toml packages.lock
grep -q '^version = "\^2.0.0"' packages.toml || fail "packages.toml does not say ^2.0.0"
"$gpm" install --locked --no-progress
"$gpm" list | grep -E '^cli-tool +2\.0\.0 ' >/dev/null || fail "the lock does not pin cli-tool 2.0.0"
"$gpm" list | grep -E '^legacy +1\.2\.0 ' >/dev/null || fail "another entry's pin moved"

step "OK: Renovate found the updates; the post-upgrade command rewrote packages.lock"
