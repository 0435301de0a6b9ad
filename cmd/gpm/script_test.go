package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the gpm binary: testscript runs
// "gpm" in scripts as a separate process of this same executable, so the
// scripts exercise the real main, signal handling (gpm serve stops on
// "kill -INT"), flags, exit codes and output streams.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"gpm": main,
	})
}

// TestScripts runs every testdata/script/*.txtar end-to-end script.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, scriptParams(t))
}

func scriptParams(t *testing.T) testscript.Params {
	return testscript.Params{
		Dir: "../../testdata/script",
		// GPM_UPDATE_SCRIPTS=1 rewrites the golden files of failing cmp
		// commands inside the scripts; review the diff before committing.
		UpdateScripts: os.Getenv("GPM_UPDATE_SCRIPTS") == "1",
		Setup: func(e *testscript.Env) error {
			// Keep every script hermetic: no credentials or CI variables
			// from the machine running the tests, and a private cache.
			for _, k := range []string{"GPM_TOKEN", "GPM_TOKEN_TYPE", "GITLAB_TOKEN", "CI_JOB_TOKEN", "CI_SERVER_URL", "CI_PROJECT_ID", "CI_COMMIT_TAG", "CI_PROJECT_NAME", "CI_PROJECT_PATH", "CI", "GITLAB_CI", "NETRC"} {
				e.Setenv(k, "")
			}
			e.Setenv("GPM_CACHE", e.WorkDir+"/.cache/gpm")
			e.Setenv("NO_COLOR", "1")
			// Under -race every process sleeps 1s before it exits
			// (atexit_sleep_ms): gpm runs hundreds of times here.
			e.Setenv("GORACE", "atexit_sleep_ms=0")
			return setupRegistry(e)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":     cmdExits,
			"registry":  cmdRegistry,
			"mkarchive": cmdMkarchive,
			"mkfile":    cmdMkfile,
			"jsondoc":   cmdJSONDoc,
			"ptyrun":    cmdPtyrun,
			"waitfile":  cmdWaitFile,
			"winfile":   cmdWinfile,
			"expand":    cmdExpand,
		},
	}
}

// cmdExits runs a program and checks its exact exit code, which plain
// "! exec" cannot: "exits 2 gpm init --bad" passes only on exit code 2.
// Its stdout and stderr are kept for the stdout/stderr/cmp commands.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

// cmdWinfile rewrites a file the way Windows tools leave it: "winfile
// [-crlf] [-bom] FILE" turns its LF line endings into CRLF (git's autocrlf
// on checkout) and puts a UTF-8 byte order mark in front (some editors).
func cmdWinfile(ts *testscript.TestScript, neg bool, args []string) {
	crlf, bom := false, false
	for len(args) > 1 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-crlf":
			crlf = true
		case "-bom":
			bom = true
		default:
			ts.Fatalf("winfile: unknown flag %s", args[0])
		}
		args = args[1:]
	}
	if neg || len(args) != 1 || !crlf && !bom {
		ts.Fatalf("usage: winfile [-crlf] [-bom] FILE")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	if crlf {
		data = bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
	}
	if bom {
		data = append([]byte("\ufeff"), data...)
	}
	ts.Check(os.WriteFile(path, data, 0o644))
}

// cmdExpand replaces $VAR and ${VAR} in a file with the script's
// environment, for files that must name the script's registry:
// "expand packages.toml" after writing url = "$REGISTRY" in it.
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: expand FILE")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	ts.Check(os.WriteFile(path, []byte(os.Expand(string(data), ts.Getenv)), 0o644))
}
