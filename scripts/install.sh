#!/bin/sh
# Install a pinned gpm release for this machine, verified.
#
# Downloads gpm-VERSION-OS-ARCH.tar.gz (.zip on Windows) and SHA256SUMS of
# one release, from a GitLab generic package (gpm's own releases are
# published there with `gpm publish`) or any URL that serves the two files,
# checks the archive against SHA256SUMS (and SHA256SUMS against a pinned
# SHA-256, when given), and installs the gpm binary into a directory.
# Anything that does not match is refused and nothing is installed.
#
# Usage:
#   install.sh [-v VERSION] [-d DIR] [-u BASE_URL | -r REGISTRY -p PROJECT [-n PACKAGE]]
#              [-s SUMS_SHA256] [-a ARCHIVE_SHA256]
#
#   -v VERSION   the release (v1.2.3); $GPM_VERSION. Required: installs are pinned.
#   -d DIR       where to put gpm; $GPM_INSTALL_DIR, default $HOME/.local/bin
#   -u BASE_URL  a URL holding the archives and SHA256SUMS; $GPM_BASE_URL
#   -r REGISTRY  a GitLab URL; $GPM_REGISTRY, else $CI_SERVER_URL
#   -p PROJECT   the project holding the gpm package (ID or path); $GPM_PROJECT
#   -n PACKAGE   the generic package name; $GPM_PACKAGE, default gpm
#   -s HEX       the SHA-256 of SHA256SUMS itself (one pin for every
#                platform); $GPM_SUMS_SHA256
#   -a HEX       the SHA-256 of this platform's archive; $GPM_ARCHIVE_SHA256
#
# Credentials (never printed): $GPM_TOKEN, sent as PRIVATE-TOKEN (or as
# JOB-TOKEN / Deploy-Token with $GPM_TOKEN_TYPE=job / deploy), else
# $CI_JOB_TOKEN as JOB-TOKEN when the files are on $CI_SERVER_URL, as gpm
# itself does. None for a public URL.
#
# Needs: sh, curl or wget, sha256sum or shasum or openssl, tar and gzip
# (unzip on Windows).
set -eu

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() {
	printf 'install.sh: error: %s\n' "$1" >&2
	shift
	for h in "$@"; do printf 'install.sh: hint: %s\n' "$h" >&2; done
	exit 1
}

version=${GPM_VERSION:-}
dir=${GPM_INSTALL_DIR:-${HOME:-.}/.local/bin}
base=${GPM_BASE_URL:-}
registry=${GPM_REGISTRY:-${CI_SERVER_URL:-}}
project=${GPM_PROJECT:-}
package=${GPM_PACKAGE:-gpm}
sums_pin=${GPM_SUMS_SHA256:-}
archive_pin=${GPM_ARCHIVE_SHA256:-}
while getopts v:d:u:r:p:n:s:a:h opt; do
	case $opt in
	v) version=$OPTARG ;;
	d) dir=$OPTARG ;;
	u) base=$OPTARG ;;
	r) registry=$OPTARG ;;
	p) project=$OPTARG ;;
	n) package=$OPTARG ;;
	s) sums_pin=$OPTARG ;;
	a) archive_pin=$OPTARG ;;
	h)
		sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown option (see install.sh -h)" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || die "unexpected argument: $1" "options only; see install.sh -h"

[ -n "$version" ] || die "no version given" "pass -v v1.2.3 or set GPM_VERSION: installs are pinned"
case $version in
*[!A-Za-z0-9._+-]* | *..*) die "invalid version: $version" ;;
esac

# The platform, as the release archives name it.
case $(uname -s) in
Linux) os=linux ;;
Darwin) os=darwin ;;
MINGW* | MSYS* | CYGWIN* | Windows_NT) os=windows ;;
*) die "no gpm release for the system $(uname -s)" "build from source: go install github.com/gpmtool/gpm/cmd/gpm@$version" ;;
esac
case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64 | armv8*) arch=arm64 ;;
*) die "no gpm release for the architecture $(uname -m)" "build from source: go install github.com/gpmtool/gpm/cmd/gpm@$version" ;;
esac
ext=tar.gz exe=gpm
if [ "$os" = windows ]; then ext=zip exe=gpm.exe; fi
name="gpm-$version-$os-$arch"
archive="$name.$ext"

# Where the files are: a URL, or the generic package of a project.
if [ -z "$base" ]; then
	[ -n "$registry" ] || die "no registry" "pass -r https://gitlab.example.com (or -u BASE_URL), or run in GitLab CI"
	[ -n "$project" ] || die "no project holding the gpm package" "pass -p group/project or a project ID (GPM_PROJECT)"
	# A project path is URL-encoded in the API: group/sub/proj -> group%2Fsub%2Fproj.
	enc=$(printf '%s' "$project" | sed 's|/|%2F|g')
	base="${registry%/}/api/v4/projects/$enc/packages/generic/$package/$version"
fi
base=${base%/}

# The credential: a header name and its value, never echoed.
header= token=
if [ -n "${GPM_TOKEN:-}" ]; then
	token=$GPM_TOKEN
	case ${GPM_TOKEN_TYPE:-private} in
	private) header=PRIVATE-TOKEN ;;
	job) header=JOB-TOKEN ;;
	deploy) header=Deploy-Token ;;
	*) die "GPM_TOKEN_TYPE must be private, job or deploy, not ${GPM_TOKEN_TYPE}" ;;
	esac
elif [ -n "${CI_JOB_TOKEN:-}" ] && [ -n "${CI_SERVER_URL:-}" ] && [ "${base#"${CI_SERVER_URL%/}"/}" != "$base" ]; then
	# The job token goes only to the instance that issued it.
	token=$CI_JOB_TOKEN header=JOB-TOKEN
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpm-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

# fetch URL FILE: download, failing on any HTTP error. The header goes
# through a file or stdin-free argument only to curl/wget, never to output.
fetch() {
	if command -v curl >/dev/null 2>&1; then
		if [ -n "$token" ]; then
			# The header is read from a file so it is not on the command line
			# (visible to other users in ps).
			printf '%s: %s\n' "$header" "$token" >"$tmp/.header"
			curl -fsSL --retry 3 --proto '=https,http' -H "@$tmp/.header" -o "$2" "$1"
		else
			curl -fsSL --retry 3 --proto '=https,http' -o "$2" "$1"
		fi
	elif command -v wget >/dev/null 2>&1; then
		if [ -n "$token" ]; then
			wget -q --tries=3 --header="$header: $token" -O "$2" "$1"
		else
			wget -q --tries=3 -O "$2" "$1"
		fi
	else
		die "neither curl nor wget is installed"
	fi
}

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d' ' -f1
	elif command -v openssl >/dev/null 2>&1; then
		openssl dgst -sha256 "$1" | sed 's/^.*= *//'
	else
		die "no sha256sum, shasum or openssl to check the download with"
	fi
}

say "downloading gpm $version for $os/$arch"
fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" ||
	die "could not download $base/SHA256SUMS" "check the version ($version) exists and the token may read the project"
fetch "$base/$archive" "$tmp/$archive" ||
	die "could not download $base/$archive" "is $os/$arch released for $version?"

if [ -n "$sums_pin" ]; then
	got=$(sha256 "$tmp/SHA256SUMS")
	[ "$got" = "$sums_pin" ] ||
		die "SHA256SUMS has SHA-256 $got, but $sums_pin was pinned; refusing to install" "the release was changed after it was pinned, or the pin is for another version"
fi
want=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$tmp/SHA256SUMS")
[ -n "$want" ] || die "$archive is not listed in SHA256SUMS; refusing to install"
[ "$(printf '%s\n' "$want" | wc -l | tr -d ' ')" = 1 ] || die "$archive is listed more than once in SHA256SUMS; refusing to install"
got=$(sha256 "$tmp/$archive")
[ "$got" = "$want" ] ||
	die "$archive has SHA-256 $got, but SHA256SUMS says $want; refusing to install" "the download was corrupted or tampered with"
if [ -n "$archive_pin" ] && [ "$got" != "$archive_pin" ]; then
	die "$archive has SHA-256 $got, but $archive_pin was pinned; refusing to install"
fi

mkdir "$tmp/x"
if [ "$ext" = zip ]; then
	(cd "$tmp/x" && unzip -q "../$archive") || die "could not unpack $archive"
else
	(cd "$tmp/x" && gzip -dc "../$archive" | tar -xf -) || die "could not unpack $archive"
fi
[ -f "$tmp/x/$name/$exe" ] || die "$archive holds no $name/$exe; refusing to install"

mkdir -p "$dir" || die "cannot create $dir"
# Copy next to the target, then rename: a running gpm is never half-written.
cp "$tmp/x/$name/$exe" "$dir/.$exe.$$" && chmod 0755 "$dir/.$exe.$$" && mv -f "$dir/.$exe.$$" "$dir/$exe" ||
	{
		rm -f "$dir/.$exe.$$"
		die "cannot write $dir/$exe"
	}
say "installed $dir/$exe ($version, sha256 of $archive: $got)"
case ":${PATH:-}:" in
*":$dir:"*) ;;
*) say "note: $dir is not on PATH" ;;
esac
