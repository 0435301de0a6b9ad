package manifest

import (
	"strconv"
	"strings"
)

// starter is the text of Starter, with REGISTRY_URL standing for the
// instance's URL.
const starter = `# packages.toml: the GitLab generic packages this project depends on.
#
#   gpm add NAME --project P   add a package (or write a [packages.NAME] table)
#   gpm install                resolve, pin in packages.lock, install
#
# gpm pins the exact version and the SHA-256 of every file in packages.lock.
# Commit both files.

[registry]
# The GitLab instance that serves the packages. Without a url, gpm would use
# $CI_SERVER_URL in GitLab CI and https://gitlab.com elsewhere.
url = REGISTRY_URL
#
# Never write a token in this file. Put it in an environment variable and
# name the variable here. type is private (personal, project or group access
# token; the default), job, deploy or bearer (OAuth). Without a token line,
# gpm tries $GPM_TOKEN and $GITLAB_TOKEN (sent to this instance only, never
# to [registries.*]), $CI_JOB_TOKEN in CI, then ~/.netrc.
# token = { env = "GITLAB_TOKEN", type = "private" }

# Further instances, for packages that say registry = "partner".
# [registries.partner]
# url = "https://gitlab.partner.example"
# token = { env = "PARTNER_TOKEN", type = "deploy" }

[install]
# Where packages go, relative to this file: package NAME is installed into
# DIR/NAME/. You may want to add it to .gitignore.
dir = "vendor"

# One table per package. NAME (here cli-tool) is the local name: the
# directory under [install] dir. Only project is required.
#
# [packages.cli-tool]
# project = 12345              # publisher project: numeric ID or "group/sub/project"
# package = "cli-tool"         # name in the package registry; default: NAME
# version = "^1.2"             # ^1.2   : >=1.2.0, <2.0.0 (same major version)
#                              # ~1.2.3 : >=1.2.3, <1.3.0 (same minor version)
#                              # =2024.06-b3 : exactly this version, semver or not
#                              # default "*": the newest stable version
# files = ["cli-tool-*-linux-amd64.tar.gz"]  # globs; default: every file of the version
# extract = false              # true: unpack .tar.gz/.tgz/.tar/.zip into DIR/NAME/
# registry = "partner"         # one of [registries.*]; default: [registry]
`

// Starter returns the commented packages.toml that `gpm init` writes: a
// valid manifest with no packages that explains every key. Its [registry]
// url is registryURL, written out rather than left to a default, so that
// the file says which instance gets the user's token.
func Starter(registryURL string) []byte {
	return []byte(strings.ReplaceAll(starter, "REGISTRY_URL", strconv.Quote(registryURL)))
}
