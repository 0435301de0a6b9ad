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
# Then the recipes of docs/ci.md, taken verbatim from the fenced blocks
# marked <!-- ci-test: NAME -->, run the same way (see "docs/ci.md's
# recipes" below for which run, and why the others cannot).
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

. "$root/scripts/serve-lib.sh"
serve_workdir ci-test
unset GITLAB_TOKEN CI_JOB_TOKEN CI_SERVER_URL CI_PROJECT_ID CI_COMMIT_TAG GITLAB_CI GPM_TOKEN GPM_TOKEN_TYPE NETRC GPM_CACHE
export NO_COLOR=1

# The version of the archives in dist/ (make dist names them after it).
version=$(sed -n 's/^[0-9a-f]*  gpm-\(.*\)-linux-amd64\.tar\.gz$/\1/p' "$dist/SHA256SUMS" 2>/dev/null)
[ -n "$version" ] || { echo "no dist/SHA256SUMS with a linux-amd64 archive: run make dist" >&2; exit 1; }
sums_sha=$(sha256sum "$dist/SHA256SUMS" | cut -d' ' -f1)

# A registry without tokens on loopback: it accepts the job token the jobs
# send and ignores it (the token paths of install.sh are tested in
# release-test.sh).
serve_start

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
	gitlab-ci-local --shell-isolation --ignore-predefined-vars CI_JOB_TOKEN,CI_PROJECT_ID,CI_COMMIT_TAG,CI_PIPELINE_SOURCE \
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

# docs/ci.md's recipes, verbatim. Each fenced block there has a marker
# line `<!-- ci-test: NAME -->` right above it; `recipe NAME` prints the
# block, so the docs stay the one copy. The values a real pipeline would
# have (the pinned gpm version and SHA-256 for the placeholders, a tag, a
# schedule, a token) are given with --variable, which overrides a job's
# variables as pipeline variables do in GitLab.
#   component   not run: `include: component:` needs a GitLab CI/CD
#               catalog, which gitlab-ci-local cannot resolve from gpm
#               serve; its template and input names are checked here, and
#               the template itself runs above (include: local:).
#   install     run, as .gpm-get of the jobs below, also with a wrong pin.
#   consumer    run: job build, in a branch pipeline.
#   publisher   run: job publish, in a tag pipeline, with a `make dist`.
#   schedule    run: job deps-check, in a schedule pipeline.
#   dockerfile  not run: it needs a container builder (BuildKit); its
#               `gpm install` line runs in bash with the build's ARGs and
#               secret as environment.
#   tools       run: job lint, in a branch pipeline, with bin = ["cli-tool"]
#               in the consumer's packages.toml.
cd "$root"
recipe() {
	awk -v m="<!-- ci-test: $1 -->" '
		on == 2 && /^```$/ { done = 1; exit }
		on == 2 { print; next }
		on == 1 { if ($0 ~ /^```[a-z]+$/) { on = 2; next } exit }
		$0 == m { on = 1 }
		END { exit !done }' docs/ci.md || fail "docs/ci.md has no fenced block right under <!-- ci-test: $1 -->"
}
unmarked=$(awk '/^```[a-z]+$/ && prev !~ /^<!-- ci-test: [a-z]+ -->$/ { print NR ": " $0 } { prev = $0 }' docs/ci.md)
[ -z "$unmarked" ] || fail "docs/ci.md has recipes without a <!-- ci-test: NAME --> marker (add one and test it here): $unmarked"
for r in component install consumer publisher schedule dockerfile tools; do recipe "$r" >"$work/recipe-$r"; done

# component: the named template exists and takes the inputs given,
# including every input without a default.
comp=$(sed -n 's|^ *- component: \$CI_SERVER_FQDN/gpmtool/gpm/\([a-z-]*\)@.*|\1|p' "$work/recipe-component")
[ -n "$comp" ] && [ -f "templates/$comp.yml" ] || fail "the docs/ci.md component recipe names no file of templates/: $(cat "$work/recipe-component")"
given=$(awk '/^ *inputs:/ { on = 1; next } on && /^ *[a-z0-9-]+:/ { sub(/^ */, ""); sub(/:.*/, ""); print }' "$work/recipe-component" | sort)
spec=$(awk '/^---/ { exit } /^    [a-z0-9-]+:$/ { sub(/^ */, ""); sub(/:$/, ""); print }' "templates/$comp.yml" | sort)
required=$(awk '/^---/ { exit } /^    [a-z0-9-]+:$/ { if (n != "" && !d) print n; n = $1; sub(/:$/, "", n); d = 0 } /^      default:/ { d = 1 } END { if (n != "" && !d) print n }' "templates/$comp.yml" | sort)
extra=$(comm -23 <(echo "$given") <(echo "$spec"))
[ -z "$extra" ] || fail "the docs/ci.md component recipe gives inputs templates/$comp.yml does not take: $extra"
missing=$(comm -13 <(echo "$given") <(echo "$required"))
[ -z "$missing" ] || fail "the docs/ci.md component recipe misses required inputs of templates/$comp.yml: $missing"
ok "docs/ci.md component recipe: templates/$comp.yml takes its inputs ($(echo $given))"

pin=(--variable "GPM_VERSION=$version" --variable "GPM_SUMS_SHA256=$sums_sha")
newproject() { # DIR PROJECT-PATH: a git repository whose origin is the registry
	mkdir -p "$1" && cd "$1"
	git init -q && git remote add origin "$url/$2.git"
	printf '/.gitlab-ci-local/\n/.gpm-bin/\n/vendor/\n/build/\n/dist/\n' >.gitignore
}
commit() {
	git add -A && git -c user.name=ci -c user.email=ci@example.invalid commit -qm "$1"
	git update-ref "refs/remotes/origin/$(git branch --show-current)" HEAD
	git symbolic-ref refs/remotes/origin/HEAD "refs/remotes/origin/$(git branch --show-current)"
}

# publisher: the publisher's pipeline is install + publisher; its make
# dist builds cli-tool for two platforms.
newproject "$work/tool" tools/cli-tool
{
	printf 'VERSION ?= $(CI_COMMIT_TAG)\n\ndist:\n\tfor p in linux-amd64 linux-arm64; do \\\n'
	printf '\t\tmkdir -p build/$$p dist && printf '\''#!/bin/sh\\necho cli-tool $(VERSION) %%s\\n'\'' $$p >build/$$p/cli-tool && \\\n'
	printf '\t\tchmod +x build/$$p/cli-tool && tar -C build/$$p -czf dist/cli-tool-$(VERSION)-$$p.tar.gz cli-tool; \\\n\tdone\n'
} >Makefile
cat "$work/recipe-install" "$work/recipe-publisher" >.gitlab-ci.yml
commit tool
gclrun "${pin[@]}" --variable CI_COMMIT_TAG=v1.4.2 --variable CI_PROJECT_ID=tools/cli-tool publish >"$work/log" 2>&1 ||
	fail "docs/ci.md publisher job failed: $(tail -n 40 "$work/log")"
curl -fsS "$url/api/v4/projects/tools%2Fcli-tool/packages/generic/cli-tool/v1.4.2/cli-tool-v1.4.2-linux-arm64.tar.gz" | tar -xzO | grep -q 'cli-tool v1.4.2 linux-arm64' ||
	fail "docs/ci.md publisher job did not publish cli-tool v1.4.2: $(tail -n 30 "$work/log")"
ok "docs/ci.md install + publisher recipes: publish ran make dist and gpm publish on tag v1.4.2"

# consumer: install + consumer + schedule; packages.toml names no
# registry, so the jobs use CI_SERVER_URL.
newproject "$work/consumer" team/app
printf '[packages.cli-tool]\nproject = "tools/cli-tool"\nversion = "^1.4"\nfiles = ["cli-tool-{version}-{os}-{arch}.tar.gz"]\nextract = true\nbin = ["cli-tool"]\n' >packages.toml
CI_SERVER_URL=$url GPM_CACHE="$work/cache1" "$gpm" -q install >"$work/log" 2>&1 || fail "could not lock the consumer's packages.toml: $(cat "$work/log")"
rm -rf vendor
cat "$work/recipe-install" "$work/recipe-consumer" "$work/recipe-schedule" "$work/recipe-tools" >.gitlab-ci.yml
commit app
gclrun --list >"$work/list" 2>&1 || fail "gitlab-ci-local --list of the docs/ci.md consumer recipes: $(cat "$work/list")"
grep -q '^build ' "$work/list" || fail "docs/ci.md consumer recipe: no build job: $(cat "$work/list")"
! grep -q deps-check "$work/list" || fail "docs/ci.md schedule recipe: deps-check is listed in a branch pipeline"
platform=$("$GO" env GOOS)-$("$GO" env GOARCH)
gclrun "${pin[@]}" build >"$work/log" 2>&1 || fail "docs/ci.md consumer job failed: $(tail -n 40 "$work/log")"
grep -q "cli-tool v1.4.2 $platform" "$work/log" || fail "docs/ci.md consumer job did not run vendor/cli-tool/cli-tool: $(tail -n 30 "$work/log")"
find .gitlab-ci-local -path '*cache*' -path '*.gpm-cache*' -type f | grep -q . ||
	fail "docs/ci.md consumer job: the GitLab cache holds no .gpm-cache/ files"
ok "docs/ci.md install + consumer recipes: build installed gpm $version and cli-tool v1.4.2 ($platform), .gpm-cache/ cached"

# tools: the package's bin, on PATH through gpm env and through gpm exec.
gclrun "${pin[@]}" lint >"$work/log" 2>&1 || fail "docs/ci.md tools job failed: $(tail -n 40 "$work/log")"
[ "$(grep -c "cli-tool v1.4.2 $platform" "$work/log")" -ge 2 ] ||
	fail "docs/ci.md tools job did not run cli-tool both by name and through gpm exec: $(tail -n 30 "$work/log")"
ok "docs/ci.md tools recipe: lint ran cli-tool from vendor/.bin by name (gpm env) and with gpm exec"

if gclrun --variable GPM_VERSION="$version" --variable GPM_SUMS_SHA256="$(printf '0%.0s' $(seq 64))" build >"$work/log" 2>&1; then
	fail "docs/ci.md install recipe accepted a wrong SHA256SUMS pin"
fi
grep -q "FAILED" "$work/log" || fail "docs/ci.md install recipe failed for another reason than the pin: $(tail -n 30 "$work/log")"
! grep -q "cli-tool v1.4.2" "$work/log" || fail "docs/ci.md install recipe went on after a wrong pin"
ok "docs/ci.md install recipe refuses a release whose SHA256SUMS does not match the pin"

# dockerfile: the RUN line, for the platform that is not this one, with
# the build's ARGs and the gpm_token secret as environment.
case $platform in linux-arm64) other=amd64 ;; *) other=arm64 ;; esac
run=$(sed -n 's/^ *\(gpm install .*\)$/\1/p' "$work/recipe-dockerfile")
[ -n "$run" ] || fail "docs/ci.md dockerfile recipe has no gpm install line"
grep -q '^ARG CI_SERVER_URL$' "$work/recipe-dockerfile" || fail "docs/ci.md dockerfile recipe does not take CI_SERVER_URL"
mkdir -p "$work/image" && cp packages.toml packages.lock "$work/image/"
(
	cd "$work/image"
	export PATH="$(dirname "$gpm"):$PATH" TARGETOS=linux TARGETARCH=$other CI_SERVER_URL=$url GPM_TOKEN=build-secret GPM_CACHE="$work/cache2"
	eval "$run"
) >"$work/log" 2>&1 || fail "docs/ci.md dockerfile recipe's '$run' failed: $(cat "$work/log")"
grep -q "linux-$other" "$work/image/vendor/cli-tool/cli-tool" || fail "docs/ci.md dockerfile recipe did not install the linux-$other cli-tool"
ok "docs/ci.md dockerfile recipe: '$run' installed linux-$other files"

# schedule: with a newer cli-tool published, verify --remote passes and
# outdated --exit-code fails the job with exit 7.
(cd "$work/tool" && CI_COMMIT_TAG=v1.5.0 make -s dist >/dev/null && "$gpm" -q publish --registry "$url" --project tools/cli-tool --package cli-tool --version v1.5.0 dist/cli-tool-v1.5.0-* >/dev/null) ||
	fail "could not publish cli-tool v1.5.0"
if gclrun "${pin[@]}" --variable CI_PIPELINE_SOURCE=schedule --variable DEPS_READ_TOKEN=read-token deps-check >"$work/log" 2>&1; then
	fail "docs/ci.md deps-check passed with cli-tool v1.5.0 published: $(tail -n 30 "$work/log")"
fi
grep -q '> verified 1 file' "$work/log" || fail "docs/ci.md deps-check: gpm verify --remote did not pass: $(tail -n 30 "$work/log")"
grep -q 'v1\.5\.0' "$work/log" || fail "docs/ci.md deps-check did not name v1.5.0: $(tail -n 30 "$work/log")"
grep -q 'FAIL 7' "$work/log" || fail "docs/ci.md deps-check did not fail with exit 7: $(tail -n 30 "$work/log")"
ok "docs/ci.md install + schedule recipes: deps-check ran verify --remote and failed with exit 7 on v1.5.0"

echo "ci-test: all checks passed"
