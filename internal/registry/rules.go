package registry

// GitLab's rules about packages and credentials, written once: resolve,
// publish, verify, search and doctor ask here instead of knowing them.

// Downloadable reports whether a package of this status can be downloaded
// and its files listed. The list API also returns "error" (and, for some
// callers, "processing") packages, which cannot; "hidden" ones are left out
// of listings but still download by name.
func Downloadable(status string) bool { return status == "default" || status == "deprecated" }

// NewestByName keeps, for each file name, the newest (highest ID) of the
// same-named files of a package: GitLab keeps duplicate uploads and serves
// the newest one.
func NewestByName(files []PackageFile) map[string]PackageFile {
	out := make(map[string]PackageFile, len(files))
	for _, f := range files {
		if cur, ok := out[f.FileName]; !ok || f.ID > cur.ID {
			out[f.FileName] = f
		}
	}
	return out
}

// CanList reports whether GitLab honours a credential of this type on the
// package list APIs. Deploy tokens and basic auth (.netrc) are silently
// ignored there, so the request runs anonymously.
func CanList(t string) bool { return t != TokenDeploy && t != TokenBasic }

// CanListGroup reports whether GitLab honours a credential of this type on
// the group-level package list: job tokens cannot use it either.
func CanListGroup(t string) bool { return CanList(t) && t != TokenJob }
