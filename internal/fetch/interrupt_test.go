package fetch

import (
	"os"
	"testing"
)

// TestUnrecordedSwapIsRepaired pins what makes writing the state once,
// after the last swap, safe: a gpm killed after swapping a package but
// before writing the state leaves the new files with the old state, and
// the next install restores exactly the locked files, keeping nothing as
// the user's and warning about nothing.
func TestUnrecordedSwapIsRepaired(t *testing.T) {
	tests := []struct {
		name  string
		v1    []file // installed before; nil: not installed
		state bool   // the old state file survives the kill
	}{
		{"update", []file{f("bin/app", "app v1"), f("old.txt", "only in v1"), f("conf.ini", "v1")}, true},
		{"first install", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.v1 != nil {
				e.mustInstall(e.pkg("app", "1.0.0", false, tt.v1...))
			}
			old, err := os.ReadFile(statePath(e.dir))
			if tt.state != (err == nil) {
				t.Fatalf("state before: %v", err)
			}
			v2 := e.pkg("app", "2.0.0", false, f("bin/app", "app v2"), f("conf.ini", "v2"), f("new.txt", "new"))
			e.mustInstall(v2)
			// The kill: the swap happened, the state write did not.
			if tt.state {
				os.WriteFile(statePath(e.dir), old, 0o644)
			} else {
				os.Remove(statePath(e.dir))
			}
			e.warnings = nil

			rep := e.mustInstall(v2)
			if p := rep.Packages[0]; len(p.MovedAside) != 0 || p.Downloaded != 0 {
				t.Errorf("report %+v, want nothing moved aside or downloaded", p)
			}
			if len(e.warnings) != 0 {
				t.Errorf("warnings = %q", e.warnings)
			}
			equal(t, "vendor tree", tree(t, e.dir), []string{"app/", "app/bin/", "app/bin/app", "app/conf.ini", "app/new.txt"})
			if got := InPlace(e.dir, lockOf(v2)); !got["app"] {
				t.Errorf("not in place after the repair: the state does not list it")
			}
			e.assertNoTemps()
		})
	}
}
