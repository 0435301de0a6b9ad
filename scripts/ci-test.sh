#!/usr/bin/env bash
# Runs the CI/CD components of templates/ and gpm's own publish job
# against `gpm serve`; `make ci-test` runs it after `make build dist`.
#
# A consumer project (a scratch git repository whose origin is the local
# registry, so GitLab's CI_SERVER_URL points at it) includes
# templates/install.yml and templates/publish.yml with `include: local:`
# and inputs; gitlab-ci-local (npm; shell executor) runs its jobs:
#   - gpm-install downloads the gpm release published from dist/, checks
#     the pinned SHA-256 of SHA256SUMS, installs it, runs gpm install
#     --locked into vendor/ with the cache inside the project;
#   - the same with a wrong pin must fail;
#   - gpm-publish, in a tag pipeline, publishes into the project's package.
# gitlab-ci-local cannot resolve a remote `include: component:` of another
# instance, so the components are included as local files; that is the
# only difference. gpm's own .gitlab-ci.yml publish job (an image job) is
# run as its script in bash with the CI variables a tag pipeline sets.
#
# gitlab-ci-local 4.75.1 needs Node >= 22 and rsync: they are installed
# into $GPM_TOOLS (default .tools/, gitignored) and with apt when missing.
#
# Usage: scripts/ci-test.sh [GPM] [DIST]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gpm=$(cd "$(dirname "${1:-bin/gpm}")" && pwd)/$(basename "${1:-bin/gpm}")
dist=$(cd "${2:-dist}" && pwd)
GO=${GO:-go}
tools=${GPM_TOOLS:-$root/.tools}
cd "$root"

fail() {
	echo "ci-test: FAIL: $*" >&2
	exit 1
}
ok() { echo "ci-test: ok: $*"; }

# Tools.
if ! command -v rsync >/dev/null 2>&1; then
	{ apt-get update -qq && apt-get install -y -qq rsync; } >/dev/null 2>&1 ||
		fail "rsync is missing and apt-get could not install it"
fi
gcl="$tools/node_modules/.bin/gitlab-ci-local"
if [ ! -x "$gcl" ] || [ ! -x "$tools/node_modules/.bin/node" ]; then
	npm install --prefix "$tools" --no-audit --no-fund --loglevel=error node@22 gitlab-ci-local@4.75.1 >/dev/null ||
		fail "npm could not install gitlab-ci-local"
fi
export PATH="$tools/node_modules/.bin:$PATH"

work=$(mktemp -d "${TMPDIR:-/tmp}/gpm-ci-test.XXXXXX")
server_pid=
cleanup() {
	status=$?
	set +e
	if [ -n "$server_pid" ]; then
		kill -INT "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	if [ "$status" -ne 0 ] && [ -s "$work/serve.log" ]; then tail -n 20 "$work/serve.log" >&2; fi
	rm -rf "$work"
}
trap cleanup EXIT
unset GITLAB_TOKEN CI_JOB_TOKEN CI_SERVER_URL CI_PROJECT_ID CI_COMMIT_TAG GITLAB_CI GPM_TOKEN GPM_TOKEN_TYPE NETRC GPM_CACHE
export NO_COLOR=1

# The version of the archives in dist/ (make dist names them after it).
version=$(sed -n 's/^[0-9a-f]*  gpm-\(.*\)-linux-amd64\.tar\.gz$/\1/p' "$dist/SHA256SUMS" 2>/dev/null)
[ -n "$version" ] || { echo "no dist/SHA256SUMS with a linux-amd64 archive: run make dist" >&2; exit 1; }
sums_sha=$(sha256sum "$dist/SHA256SUMS" | cut -d' ' -f1)

# A registry without tokens on loopback: it accepts the job token the jobs
# send and ignores it (the token paths of install.sh are tested in
# release-test.sh).
"$gpm" serve --addr 127.0.0.1:0 --dir "$work/registry" --addr-file "$work/addr" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 200); do
	[ -s "$work/addr" ] && break
	kill -0 "$server_pid" 2>/dev/null || fail "gpm serve exited"
	sleep 0.05
done
url=$(cat "$work/addr")

# gpm's own publish job (.gitlab-ci.yml), as a tag pipeline runs it.
(
	export CI_PROJECT_ID=gpmtool/gpm CI_COMMIT_TAG=$version CI_SERVER_URL=$url CI_JOB_TOKEN=job-token
	mkdir -p "$work/gpmsrc/bin" && cp -R "$dist" "$work/gpmsrc/dist" && cp "$gpm" "$work/gpmsrc/bin/gpm"
	cd "$work/gpmsrc"
	test "$(./bin/gpm version | head -n 1)" = "gpm $CI_COMMIT_TAG"
	./bin/gpm publish --package gpm dist/*
) >"$work/log" 2>&1 || fail "gpm's publish job failed: $(cat "$work/log")"
curl -fsS "$url/api/v4/projects/gpmtool%2Fgpm/packages/generic/gpm/$version/SHA256SUMS" | cmp -s - "$dist/SHA256SUMS" ||
	fail "the published SHA256SUMS differs from dist/SHA256SUMS"
ok "gpm's publish job published dist/ as gpm $version with gpm publish"

# A package for the consumer to install.
mkdir -p "$work/hello" && printf 'hello 1.0.0\n' >"$work/hello/hello.txt"
(cd "$work/hello" && "$gpm" -q publish --registry "$url" --project demo/tools --package hello --version 1.0.0 hello.txt >/dev/null)

# The consumer project.
app="$work/app"
mkdir -p "$app/templates"
cp templates/install.yml templates/publish.yml "$app/templates/"
cd "$app"
cat >packages.toml <<EOF
[registry]
url = "$url"

[packages.hello]
project = "demo/tools"
version = "^1.0"
EOF
GPM_CACHE="$work/cache0" "$gpm" -q install >/dev/null
rm -rf vendor
mkdir -p dist && printf 'app build\n' >dist/app.txt
cat >.gitlab-ci.yml <<EOF
include:
  - local: templates/install.yml
    inputs:
      gpm-version: $version
      gpm-sums-sha256: $sums_sha
      gpm-project: gpmtool/gpm
      cache-key: deps
  - local: templates/install.yml
    inputs:
      job-name: gpm-install-badpin
      gpm-version: $version
      gpm-sums-sha256: "$(printf '0%.0s' $(seq 64))"
      gpm-project: gpmtool/gpm
  - local: templates/publish.yml
    inputs:
      gpm-version: $version
      gpm-sums-sha256: $sums_sha
      gpm-url: $url/api/v4/projects/gpmtool%2Fgpm/packages/generic/gpm/$version
      files: dist/*
      stage: deploy

stages: [.pre, build, deploy]

use-vendor:
  stage: build
  needs: [gpm-install]
  script:
    - cat vendor/hello/hello.txt
EOF
printf '/.gitlab-ci-local/\n/.gpm-bin/\n' >.gitignore
git init -q
git remote add origin "$url/consumer/app.git"
git add -A
git -c user.name=ci -c user.email=ci@example.invalid commit -qm app
git update-ref refs/remotes/origin/HEAD HEAD

gclrun() {
	gitlab-ci-local --shell-isolation --ignore-predefined-vars CI_JOB_TOKEN,CI_PROJECT_ID,CI_COMMIT_TAG \
		--variable CI_JOB_TOKEN=job-token "$@"
}
gclrun --list >"$work/list" 2>&1 || fail "gitlab-ci-local --list: $(cat "$work/list")"
grep -q gpm-install "$work/list" || fail "no gpm-install job: $(cat "$work/list")"
grep -q gpm-publish "$work/list" && fail "gpm-publish is listed in a branch pipeline: $(cat "$work/list")"

gclrun gpm-install use-vendor >"$work/log" 2>&1 || fail "gpm-install failed:
$(tail -n 40 "$work/log")"
grep -q "gpm $version" "$work/log" || fail "gpm-install did not run gpm $version: $(tail -n 30 "$work/log")"
grep -q "hello 1.0.0" "$work/log" || fail "use-vendor did not see vendor/hello: $(tail -n 30 "$work/log")"
find .gitlab-ci-local -path '*gpm-install*' -name 'hello.txt' | grep -q . ||
	fail "the cache of gpm-install holds no hello.txt (GPM_CACHE inside the project)"
ok "gpm-install installed gpm $version (pinned SHA256SUMS) and ran gpm install --locked; use-vendor got vendor/"

# The cache key follows packages.lock.
gclrun --preview >"$work/preview" 2>&1 || fail "gitlab-ci-local --preview: $(cat "$work/preview")"
grep -q "prefix: deps" "$work/preview" || fail "the cache key prefix input is not used: $(cat "$work/preview")"

if gclrun gpm-install-badpin >"$work/log" 2>&1; then fail "gpm-install with a wrong SHA256SUMS pin succeeded"; fi
grep -q "did NOT match" "$work/log" || fail "gpm-install-badpin failed for another reason: $(tail -n 30 "$work/log")"
! grep -q "installed .*/gpm " "$work/log" || fail "gpm was installed despite the wrong pin"
ok "gpm-install refuses a release whose SHA256SUMS does not match the pin"

gclrun --variable CI_COMMIT_TAG=v2.0.0 --variable CI_PROJECT_ID=consumer/app gpm-publish >"$work/log" 2>&1 ||
	fail "gpm-publish failed: $(tail -n 40 "$work/log")"
curl -fsS "$url/api/v4/projects/consumer%2Fapp/packages/generic/app/v2.0.0/app.txt" | grep -q "app build" ||
	fail "gpm-publish did not publish dist/app.txt as app v2.0.0"
ok "gpm-publish published dist/* into the project's package on a tag"

echo "ci-test: all checks passed"
