package fetch

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/gpmtool/gpm/internal/hint"
)

// ntStatus stands for Windows' internal NT status error, which converts
// to an errno.
type ntStatus uint32

func (s ntStatus) Error() string        { return "nt status" }
func (s ntStatus) Errno() syscall.Errno { return errorPrivilegeNotHeld }

// A symlink Windows refuses for want of privilege is a platform limit,
// reported with a hint (exit 1), not a possibly malicious archive (exit 4);
// every other failure to create a symlink stays a refused archive.
func TestSymlinkErrorClassification(t *testing.T) {
	link := func(err error) error {
		return &os.LinkError{Op: "symlinkat", Old: "../lib/t.so", New: "bin/t", Err: err}
	}
	for _, tc := range []struct {
		name   string
		goos   string
		err    error
		unsafe bool
	}{
		{"windows without the privilege", "windows", link(errorPrivilegeNotHeld), false},
		{"windows, NT status", "windows", link(ntStatus(0xC0000061)), false},
		{"windows, other error", "windows", link(syscall.Errno(5)), true},
		{"linux, same number", "linux", link(errorPrivilegeNotHeld), true},
		{"linux, EPERM", "linux", link(syscall.EPERM), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := symlinkError(tc.goos, "t.zip", "bin/t", tc.err)
			if got := errors.Is(err, ErrUnsafeArchive); got != tc.unsafe {
				t.Fatalf("errors.Is(%v, ErrUnsafeArchive) = %v, want %v", err, got, tc.unsafe)
			}
			if errors.Is(err, ErrIntegrity) {
				t.Errorf("%v matches ErrIntegrity", err)
			}
			if !strings.Contains(err.Error(), `archive "t.zip": entry "bin/t": cannot create symlink`) {
				t.Errorf("error %q does not name the archive and entry", err)
			}
			hints := strings.Join(hint.Of(err), "\n")
			if tc.unsafe {
				if !strings.Contains(hints, "may be malicious") {
					t.Errorf("hints %q", hints)
				}
				return
			}
			for _, want := range []string{"limit of Windows", "Developer Mode", "elevated", "archive without symlinks"} {
				if !strings.Contains(hints, want) {
					t.Errorf("hints %q do not mention %q", hints, want)
				}
			}
			if strings.Contains(hints, "malicious") {
				t.Errorf("hints %q call the archive malicious", hints)
			}
			var le *os.LinkError
			if !errors.As(err, &le) {
				t.Errorf("%v does not unwrap to the system's error", err)
			}
		})
	}
}
