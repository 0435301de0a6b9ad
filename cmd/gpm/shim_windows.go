package main

import (
	"os"
	"os/exec"
	"syscall"
)

// shimCommand runs the .cmd shim at path with args through cmd.exe, on a
// command line gpm builds itself (see cmdShimLine).
func shimCommand(path string, args []string) (*exec.Cmd, error) {
	line, err := cmdShimLine(path, args)
	if err != nil {
		return nil, err
	}
	comspec := os.Getenv("ComSpec")
	if comspec == "" {
		comspec = "cmd.exe"
	}
	cmd := exec.Command(comspec)
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: `"` + comspec + `" ` + line}
	return cmd, nil
}
