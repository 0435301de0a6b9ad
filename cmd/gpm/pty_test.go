package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdPtyrun runs a program with its stderr on a pseudo-terminal, as a user at
// a terminal would, and saves everything written to the terminal in a file:
//
//	ptyrun OUT PROGRAM [ARGS...]
//
// stdout is kept for the stdout command as usual. Only the variables gpm
// reads are passed on, with TERM=xterm-256color.
func cmdPtyrun(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: ptyrun OUT PROGRAM [ARGS...]")
	}
	master, slave, err := openPty()
	ts.Check(err)
	defer master.Close()
	prog, err := exec.LookPath(args[1])
	if err != nil {
		// Look in the script's PATH, where testscript put gpm.
		for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
			if p := filepath.Join(dir, args[1]); fileExists(p) {
				prog, err = p, nil
				break
			}
		}
	}
	ts.Check(err)
	cmd := exec.Command(prog, args[2:]...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = []string{"TERM=xterm-256color"}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GPM_CACHE", "CI_SERVER_URL", "REGISTRY", "GPM_TOKEN", "GPM_RETRY_BASE", "NO_COLOR"} {
		if v := ts.Getenv(k); v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = slave
	ts.Check(cmd.Start())
	slave.Close()
	var screen bytes.Buffer
	io.Copy(&screen, master) // ends with EIO once the child exits
	err = cmd.Wait()
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), screen.Bytes(), 0o644))
	if (err != nil) != neg {
		ts.Fatalf("ptyrun %s: %v\n%s", strings.Join(args[1:], " "), err, screen.String())
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, os.ErrNotExist)
}

// cmdMkfile writes a file of SIZE bytes of repeating text:
//
//	mkfile NAME SIZE
func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkfile NAME SIZE")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	data := bytes.Repeat([]byte("gpm test data\n"), n/14+1)[:n]
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), data, 0o644))
}
