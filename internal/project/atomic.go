package project

import "github.com/gpmtool/gpm/internal/atomicfile"

// writeFileAtomic replaces path (the manifest or the lock) with data,
// durably, keeping its permissions.
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644, true)
}
