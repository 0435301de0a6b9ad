//go:build !windows

package main

import (
	"errors"
	"os/exec"
)

// shimCommand exists for Windows only: elsewhere commands are symlinks.
func shimCommand(path string, args []string) (*exec.Cmd, error) {
	return nil, errors.New(".cmd shims run on Windows only")
}
