//go:build !unix

package fetch

import "os"

// openRead is os.Open here (see openread_unix.go).
func openRead(p string) (*os.File, error) { return os.Open(p) }
