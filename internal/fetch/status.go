package fetch

import (
	"path/filepath"

	"github.com/gpmtool/gpm/internal/lock"
)

// InPlace reports, for each package of l, whether it is in place in the
// vendor directory dir exactly as locked. Like Stage's no-op check it only
// stats files: it reads no content, so a file changed without a change of
// size and time still counts as installed (gpm verify finds it).
func InPlace(dir string, l *lock.File) map[string]bool {
	if l == nil {
		return map[string]bool{}
	}
	st := readState(dir, func(string, ...any) {})
	out := make(map[string]bool, len(l.Packages))
	for i := range l.Packages {
		p := &l.Packages[i]
		ps, ok := st.Packages[p.Name]
		out[p.Name] = ok && checkPackageName(p.Name) == nil && ps.sameIdentity(p) && inPlace(filepath.Join(dir, p.Name), ps) && linksInPlace(dir, p.Name, ps)
	}
	return out
}
