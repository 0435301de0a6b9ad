//go:build unix

package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteFileUmask: the file gets perm less the umask, new or replacing
// a file of another mode, as the vendor directory's state must (gpm verify
// run by another user reads it).
func TestWriteFileUmask(t *testing.T) {
	for _, umask := range []int{0o022, 0o077} {
		t.Run(fmt.Sprintf("umask %03o", umask), func(t *testing.T) {
			old := syscall.Umask(umask)
			defer syscall.Umask(old)
			want := 0o666 &^ fs.FileMode(umask)
			p := filepath.Join(t.TempDir(), "state")
			for _, existing := range []bool{false, true} {
				if existing {
					if err := os.Chmod(p, 0o600|0o010); err != nil {
						t.Fatal(err)
					}
				}
				if err := WriteFileUmask(p, []byte("x"), 0o666, false); err != nil {
					t.Fatal(err)
				}
				if fi, _ := os.Stat(p); fi.Mode().Perm() != want {
					t.Errorf("existing %v: mode %v, want %v", existing, fi.Mode().Perm(), want)
				}
			}
			if es, _ := os.ReadDir(filepath.Dir(p)); len(es) != 1 {
				t.Errorf("left %d entries, want only the file", len(es))
			}
		})
	}
}
