#!/usr/bin/env bash
# Checks gpm's release artefacts end to end; `make release-test` runs it
# after `make build dist`, and CI runs that.
#
#  1. make dist is reproducible: a fresh clone of HEAD in another directory
#     builds byte-identical archives (same SHA256SUMS).
#  2. Every archive unpacks to LICENSE, README.md and a gpm for its platform:
#     the host's runs and prints the version; the others are checked with
#     `go version -m` (GOOS, GOARCH, CGO_ENABLED=0, -trimpath) and `file`.
#  3. scripts/install.sh installs the release from `gpm serve` after
#     `gpm publish` (PRIVATE-TOKEN and Deploy-Token, a project path, a URL,
#     pins), and refuses a tampered archive, a tampered SHA256SUMS, a wrong
#     pin and a missing platform, installing nothing.
#
# Usage: scripts/release-test.sh [GPM] [DIST]   (default bin/gpm dist)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gpm=$(cd "$(dirname "${1:-bin/gpm}")" && pwd)/$(basename "${1:-bin/gpm}")
dist=$(cd "${2:-dist}" && pwd)
GO=${GO:-go}
cd "$root"

. "$root/scripts/serve-lib.sh"
serve_workdir release-test
fail() {
	echo "release-test: FAIL: $*" >&2
	exit 1
}
ok() { echo "release-test: ok: $*"; }

unset GITLAB_TOKEN CI_JOB_TOKEN CI_SERVER_URL CI_PROJECT_ID CI_COMMIT_TAG GITLAB_CI GPM_TOKEN GPM_TOKEN_TYPE NETRC
export GPM_CACHE="$work/cache" NO_COLOR=1

# The version of the archives in dist/ (make dist names them after it).
version=$(sed -n 's/^[0-9a-f]*  gpm-\(.*\)-linux-amd64\.tar\.gz$/\1/p' "$dist/SHA256SUMS" 2>/dev/null)
[ -n "$version" ] || { echo "no dist/SHA256SUMS with a linux-amd64 archive: run make dist" >&2; exit 1; }
[ -s "$dist/SHA256SUMS" ] || fail "$dist/SHA256SUMS is missing: run make dist"
[ "$(wc -l <"$dist/SHA256SUMS")" -eq 7 ] || fail "SHA256SUMS should list 6 archives and install.sh:
$(cat "$dist/SHA256SUMS")"
(cd "$dist" && sha256sum -c --quiet SHA256SUMS) || fail "dist/ does not match its SHA256SUMS"

[ "$($GO run ./scripts/release version)" = "$version" ] || fail "dist/ holds $version, not the checked-out commit: run make dist"

# 1. Reproducible: another clone, another path, same bytes.
case $version in
*+dirty)
	echo "release-test: skipped the reproducibility check: the work tree has changes ($version); commit them first"
	;;
*)
	git clone -q --no-local "$root" "$work/clone"
	git -C "$work/clone" checkout -q "$(git rev-parse HEAD)"
	(cd "$work/clone" && GO=$GO $GO run ./scripts/release dist -o "$work/dist2" 2>/dev/null)
	diff -u "$dist/SHA256SUMS" "$work/dist2/SHA256SUMS" || fail "a second make dist from a fresh clone gave other archives"
	ok "make dist from a fresh clone in another directory gives identical SHA256SUMS"
	;;
esac

# 2. Every archive holds a gpm for its platform.
host="$($GO env GOOS)-$($GO env GOARCH)"
for os in linux darwin windows; do
	for arch in amd64 arm64; do
		name="gpm-$version-$os-$arch"
		x="$work/unpack/$name"
		mkdir -p "$x"
		exe=gpm
		if [ "$os" = windows ]; then
			exe=gpm.exe
			python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$dist/$name.zip" "$x"
			chmod +x "$x/$name/$exe"
		else
			tar -xzf "$dist/$name.tar.gz" -C "$x"
		fi
		for f in "$exe" LICENSE README.md; do
			[ -f "$x/$name/$f" ] || fail "$name has no $f"
		done
		cmp -s "$x/$name/LICENSE" LICENSE || fail "$name: LICENSE differs from the repository's"
		cmp -s "$x/$name/README.md" README.md || fail "$name: README.md differs from the repository's"
		info=$($GO version -m "$x/$name/$exe")
		for want in "GOOS=$os" "GOARCH=$arch" "CGO_ENABLED=0" "-trimpath=true"; do
			grep -q -- "$want" <<<"$info" || fail "$name/$exe: go version -m lacks $want:
$info"
		done
		if command -v file >/dev/null 2>&1; then
			desc=$(file -b "$x/$name/$exe")
			case $os-$arch in
			linux-amd64) want='ELF 64-bit.*x86-64.*statically linked' ;;
			linux-arm64) want='ELF 64-bit.*aarch64.*statically linked' ;;
			darwin-amd64) want='Mach-O 64-bit.*x86_64' ;;
			darwin-arm64) want='Mach-O 64-bit.*arm64' ;;
			windows-amd64) want='PE32\+ executable.*x86-64' ;;
			windows-arm64) want='PE32\+ executable.*Aarch64' ;;
			esac
			grep -Eqi -- "$want" <<<"$desc" || fail "$name/$exe: file says: $desc"
		fi
		if [ "$os-$arch" = "$host" ]; then
			out=$("$x/$name/$exe" version)
			grep -qx "gpm $version" <<<"$out" || fail "$name/gpm version printed:
$out"
			grep -qx "commit $(git rev-parse HEAD)" <<<"$out" || fail "$name/gpm version lacks the commit:
$out"
			ok "$name runs: $(head -n 1 <<<"$out")"
		fi
	done
done
ok "all 6 archives hold gpm for their platform, LICENSE and README.md"

# 3. install.sh against gpm serve.
printf 'publisher-token\nread reader-token\n' >"$work/tokens"
serve_start --token-file "$work/tokens"
GPM_TOKEN=publisher-token "$gpm" -q publish --registry "$url" --project tools/gpm --package gpm --version "$version" "$dist"/* >/dev/null
ok "published dist/* with gpm publish"

inst() { # DIR ARGS...: run install.sh with the reader token
	local d=$1
	shift
	GPM_TOKEN=reader-token sh scripts/install.sh -d "$d" "$@"
}
sums_sha=$(sha256sum "$dist/SHA256SUMS" | cut -d' ' -f1)
inst "$work/bin1" -v "$version" -r "$url" -p tools/gpm -s "$sums_sha" 2>"$work/log" || fail "install.sh failed: $(cat "$work/log")"
"$work/bin1/gpm" version | grep -qx "gpm $version" || fail "the installed gpm is not $version"
ok "install.sh from a project path with PRIVATE-TOKEN and a SHA256SUMS pin"

GPM_TOKEN_TYPE=deploy inst "$work/bin2" -v "$version" -u "$url/api/v4/projects/tools%2Fgpm/packages/generic/gpm/$version" 2>"$work/log" ||
	fail "install.sh -u failed: $(cat "$work/log")"
cmp -s "$work/bin1/gpm" "$work/bin2/gpm" || fail "two installs differ"
ok "install.sh from a URL with Deploy-Token"

# With wget instead of curl: a PATH without curl.
mkdir -p "$work/nocurl"
for t in wget sh sha256sum cut awk sed tar gzip mktemp uname mkdir cp chmod mv rm wc tr cat printf; do
	p=$(command -v "$t" 2>/dev/null) && ln -sf "$p" "$work/nocurl/$t"
done
if [ -x "$work/nocurl/wget" ]; then
	PATH="$work/nocurl" GPM_TOKEN=reader-token "$work/nocurl/sh" scripts/install.sh -d "$work/bin3" -v "$version" -r "$url" -p tools/gpm 2>"$work/log" ||
		fail "install.sh with wget failed: $(cat "$work/log")"
	cmp -s "$work/bin1/gpm" "$work/bin3/gpm" || fail "the wget install differs"
	ok "install.sh with wget (no curl on PATH)"
else
	echo "release-test: skipped the wget check: no wget"
fi

refused() { # WHY DIR ARGS...: install.sh must fail, say why, install nothing
	local why=$1 d=$2
	shift 2
	if inst "$d" "$@" 2>"$work/log"; then fail "install.sh accepted $why"; fi
	grep -q "install.sh: error: " "$work/log" || fail "install.sh refused $why without an error line: $(cat "$work/log")"
	! grep -q reader-token "$work/log" || fail "install.sh printed the token"
	[ ! -e "$d/gpm" ] || fail "install.sh installed gpm despite $why"
	ok "install.sh refuses $why: $(grep -m1 'error: ' "$work/log" | cut -c1-110)"
}
# A tampered archive: same name, other bytes, SHA256SUMS unchanged.
mkdir -p "$work/evil"
cp "$dist"/* "$work/evil/"
hostarc="gpm-$version-$host.tar.gz"
printf 'garbage' | gzip >>"$work/evil/$hostarc"
GPM_TOKEN=publisher-token "$gpm" -q publish --registry "$url" --project evil/gpm --package gpm --version "$version" "$work/evil"/* >/dev/null
refused "a tampered archive" "$work/bad1" -v "$version" -r "$url" -p evil/gpm
# A tampered SHA256SUMS matching the tampered archive: only a pin catches it.
(cd "$work/evil" && sha256sum -- *.tar.gz *.zip install.sh >SHA256SUMS)
GPM_TOKEN=publisher-token "$gpm" -q publish --registry "$url" --project evil2/gpm --package gpm --version "$version" "$work/evil"/* >/dev/null
refused "a re-signed SHA256SUMS under a SHA256SUMS pin" "$work/bad2" -v "$version" -r "$url" -p evil2/gpm -s "$sums_sha"
refused "an archive pin that does not match" "$work/bad3" -v "$version" -r "$url" -p tools/gpm -a "$(printf '0%.0s' $(seq 64))"
refused "a version that does not exist" "$work/bad4" -v v9.9.9 -r "$url" -p tools/gpm
refused "an unpinned version" "$work/bad5" -r "$url" -p tools/gpm
# SHA256SUMS that does not list this platform.
grep -v -- "-$host\." "$dist/SHA256SUMS" >"$work/SHA256SUMS"
mkdir -p "$work/partial" && cp "$work/SHA256SUMS" "$dist/$hostarc" "$work/partial/"
GPM_TOKEN=publisher-token "$gpm" -q publish --registry "$url" --project partial/gpm --package gpm --version "$version" "$work/partial"/* >/dev/null
refused "an archive missing from SHA256SUMS" "$work/bad6" -v "$version" -r "$url" -p partial/gpm
# The reader token is needed: without it, gpm serve answers 401.
if GPM_TOKEN= sh scripts/install.sh -d "$work/bad7" -v "$version" -r "$url" -p tools/gpm 2>"$work/log"; then fail "install.sh without a token succeeded"; fi
[ ! -e "$work/bad7/gpm" ] || fail "installed without a token"
ok "install.sh without a token fails: $(grep -m1 'error: ' "$work/log")"

echo "release-test: all checks passed"
