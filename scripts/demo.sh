#!/usr/bin/env bash
# gpm's main job end to end, against a local registry: `make demo` runs it.
#
# It starts `gpm serve` on a free loopback port over a temp directory,
# publishes three sample packages in several versions (one with several
# files, one a .tar.gz installed with extract = true), writes a
# packages.toml, then runs install, list, outdated, publishes a newer
# version, runs update and verify, showing what each step prints. The
# server is stopped and the temp directory removed however the script ends.
#
# Usage: scripts/demo.sh [PATH-TO-GPM]   (default: bin/gpm, built by make)
set -euo pipefail

gpm=${1:-bin/gpm}
gpm=$(cd "$(dirname "$gpm")" && pwd)/$(basename "$gpm")
if [ ! -x "$gpm" ]; then
	echo "demo: $gpm is not built; run 'make demo' or 'make build' first" >&2
	exit 1
fi
start=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/gpm-demo.XXXXXX")
server_pid=
cleanup() {
	status=$?
	# Clean up even when stdout is a closed pipe (demo | head).
	set +e
	trap '' PIPE
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -INT "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ "$status" -ne 0 ] && [ -s "$work/serve.log" ]; then
		echo "demo: failed; the server's log:" >&2
		tail -n 20 "$work/serve.log" >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

# Keep the demo hermetic: no credentials or CI settings from this machine,
# a private download cache.
unset GITLAB_TOKEN CI_JOB_TOKEN CI_SERVER_URL CI_PROJECT_ID CI_COMMIT_TAG GITLAB_CI GPM_TOKEN_TYPE NETRC
export GPM_CACHE="$work/cache" NO_COLOR=1
# gpm prints its progress on stderr and results on stdout: show both, in
# order.
exec 2>&1

step() { printf '\n# %s\n' "$*"; }
# run echoes a command the way a user would type it, then runs it.
run() {
	printf '$ %s\n' "$*"
	"$@"
}
gpm() { "$gpm" "$@"; }

step "Start a local GitLab-compatible registry (gpm serve), with a token"
token=demo-token
cd "$work"
printf '%s\n' "# tokens of the demo registry, one per line" "$token" >tokens
printf '$ gpm serve --addr 127.0.0.1:0 --dir registry --token-file tokens --addr-file addr 2>serve.log &\n'
"$gpm" serve --addr 127.0.0.1:0 --dir registry --token-file tokens --addr-file addr 2>serve.log &
server_pid=$!
for _ in $(seq 200); do
	[ -s "$work/addr" ] && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
	sleep 0.05
done
[ -s "$work/addr" ] || { echo "demo: gpm serve did not start" >&2; exit 1; }
url=$(cat "$work/addr")
run cat addr
head -n 1 "$work/serve.log"
echo "\$ export GPM_TOKEN=$token"
export GPM_TOKEN=$token

step "Publish sample packages (what a publisher's CI job does)"
pkgs="$work/packages"
mkdir -p "$pkgs"
# publish uploads files of the current directory, quietly. What it echoes
# works when pasted (with GPM_TOKEN exported as above).
publish() { # project package version files...
	local project=$1 package=$2 version=$3
	shift 3
	printf '$ gpm -q publish --registry %s --project %s --package %s --version %s %s\n' "$url" "$project" "$package" "$version" "$*"
	"$gpm" -q publish --registry "$url" --project "$project" --package "$package" --version "$version" "$@" >/dev/null
}
# hello-cli: one file per version.
for v in 1.0.0 1.1.0 2.0.0; do
	mkdir -p "$pkgs/hello-$v"
	printf '#!/bin/sh\necho "hello from hello-cli %s"\n' "$v" >"$pkgs/hello-$v/hello-cli"
	chmod +x "$pkgs/hello-$v/hello-cli"
	(cd "$pkgs/hello-$v" && publish demo/tools hello-cli "$v" hello-cli)
done
# proto-defs: several files per version; the consumer picks some by glob.
for v in 0.9.0 1.0.0; do
	mkdir -p "$pkgs/proto-$v"
	for f in api events; do
		printf 'syntax = "proto3";\n// %s.proto of proto-defs %s\n' "$f" "$v" >"$pkgs/proto-$v/$f.proto"
	done
	printf 'proto-defs %s\n' "$v" >"$pkgs/proto-$v/CHANGELOG.md"
	(cd "$pkgs/proto-$v" && publish demo/tools proto-defs "$v" api.proto events.proto CHANGELOG.md)
done
# web-assets: a .tar.gz that the consumer unpacks.
for v in 3.1.0 3.2.0; do
	mkdir -p "$pkgs/web-$v/src/css"
	printf '<h1>web-assets %s</h1>\n' "$v" >"$pkgs/web-$v/src/index.html"
	printf 'h1 { color: teal; }\n' >"$pkgs/web-$v/src/css/site.css"
	tar -czf "$pkgs/web-$v/web-assets.tar.gz" -C "$pkgs/web-$v/src" index.html css
	(cd "$pkgs/web-$v" && publish demo/web web-assets "$v" web-assets.tar.gz)
done

step "A consumer project declares what it needs in packages.toml"
app="$work/app"
mkdir -p "$app"
cd "$app"
cat >packages.toml <<EOF
[registry]
url = "$url"

[packages.hello-cli]
project = "demo/tools"
version = "^1.0"
bin = ["hello-cli"]          # linked as vendor/.bin/hello-cli

[packages.proto-defs]
project = "demo/tools"
version = "~1.0"
files = ["*.proto"]

[packages.web-assets]
project = "demo/web"
version = "^3.1"
extract = true
EOF
run cat packages.toml

step "Resolve, lock and install"
run gpm install
echo '$ find vendor -type f -not -path "*/.gpm/*" | sort'
find vendor -type f -not -path "*/.gpm/*" | sort
# The install's summary counts the files downloaded; an unpacked archive
# places more than one.
echo "# $(find vendor -type f -not -path "*/.gpm/*" | wc -l | tr -d ' ') files placed: web-assets.tar.gz was downloaded as one file and unpacked (extract = true)"
run vendor/.bin/hello-cli

step "What the lock pins, and what is newer"
run gpm list
run gpm outdated

step "The publisher releases hello-cli 1.2.0"
mkdir -p "$pkgs/hello-1.2.0"
printf '#!/bin/sh\necho "hello from hello-cli 1.2.0"\n' >"$pkgs/hello-1.2.0/hello-cli"
chmod +x "$pkgs/hello-1.2.0/hello-cli"
(cd "$pkgs/hello-1.2.0" && run gpm publish --registry "$url" --project demo/tools --package hello-cli --version 1.2.0 hello-cli)
run gpm outdated

step "Update to the newest matching versions, then prove vendor/ is intact"
run gpm update
run gpm exec hello-cli
run gpm verify
run gpm install --locked

step "Stop the registry (Ctrl-C, or SIGTERM, shuts it down gracefully)"
echo '$ kill -INT %1'
kill -INT "$server_pid"
wait "$server_pid"
server_pid=
tail -n 1 "$work/serve.log"
echo "demo: done in $(($(date +%s) - start))s; $(grep -c ' /api/v4/' "$work/serve.log") API requests served"
