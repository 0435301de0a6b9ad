//go:build !linux

package main

import (
	"errors"
	"os"
)

// openPty is Linux-only here; scripts that use ptyrun skip elsewhere.
func openPty() (master, slave *os.File, err error) {
	return nil, nil, errors.New("ptyrun: pseudo-terminals are only opened on Linux")
}
