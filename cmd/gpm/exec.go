package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/project"
)

func execCmd() *command {
	var mode modeFlags
	return &command{
		name: "exec", args: "[--locked] [--offline] [--frozen] NAME [--] [ARGS...]",
		summary: "run a package's tool from vendor/.bin, installing first if needed; exit with its status",
		example: "gpm exec deploykit -- --env staging",
		flags: func(fs *pflag.FlagSet) {
			// Everything after NAME is the tool's, flags included.
			fs.SetInterspersed(false)
			mode.register(fs, "when gpm must install first: ")
		},
		run: func(c *cli, args []string) error {
			if c.g.json {
				return withHint(usageError("gpm exec has no --json output: its output is the tool's"), "run 'gpm list --json' for what is installed")
			}
			if len(args) > 0 && args[0] == "--" {
				args = args[1:]
			}
			if len(args) == 0 {
				return withHint(usageError("gpm exec needs the NAME of a tool"), "run 'gpm exec NAME [ARGS...]'; the names are the files in %s", project.BinDirName)
			}
			name, toolArgs := args[0], args[1:]
			if len(toolArgs) > 0 && toolArgs[0] == "--" {
				toolArgs = toolArgs[1:]
			}
			p, err := c.loadProject()
			if err != nil {
				return err
			}
			if p.NeedsInstall() {
				if err := c.quietInstall(p, mode.options()); err != nil {
					return err
				}
			}
			path, err := c.binPath(p, name)
			if err != nil {
				return err
			}
			return c.runTool(path, toolArgs)
		},
	}
}

// quietInstall installs p with no progress, changes or summary: only
// errors are printed.
func (c *cli) quietInstall(p *project.Project, o project.InstallOptions) error {
	saved := c.g.quiet
	c.g.quiet = true
	defer func() { c.g.quiet = saved }()
	return c.install(p, o)
}

// binPath finds bin NAME, or explains which bins there are.
func (c *cli) binPath(p *project.Project, name string) (string, error) {
	path, err := p.Bin(name)
	switch {
	case errors.Is(err, project.ErrNoBins):
		return "", withHint(usageError("no tool %q: %s has no %s directory, so no package declares a bin", name, displayDir(p.Dir), project.BinDirName),
			"declare the tool in packages.toml, as in bin = [\"bin/%s\"] (docs/manifest.md), then run 'gpm install'", name)
	case errors.Is(err, project.ErrNoBin):
		names, lerr := p.Bins()
		if lerr != nil {
			return "", lerr
		}
		uerr := usageError("no tool %q in %s", name, displayDir(p.Dir)+string(os.PathSeparator)+project.BinDirName)
		list := "no package declares a bin"
		if len(names) > 0 {
			list = "the tools are: " + strings.Join(names, ", ")
		}
		if s := suggest(name, names); s != "" {
			return "", withHint(withHint(uerr, "did you mean 'gpm exec %s'?", s), "%s", list)
		}
		return "", withHint(uerr, "%s", list)
	}
	return path, err
}

// runTool runs the tool at path with gpm's standard streams, forwards
// SIGINT and SIGTERM to it, waits for it, and returns its exit status as an
// exitStatus error (nil when it exits 0).
func (c *cli) runTool(path string, args []string) error {
	if c.g.dir != "" {
		// -C: the tool runs in DIR too, as if gpm was started there, and
		// path (found from here) must not be read from DIR.
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		path = abs
	}
	var cmd *exec.Cmd
	if runtime.GOOS == "windows" && strings.EqualFold(filepath.Ext(path), ".cmd") {
		var err error
		if cmd, err = shimCommand(path, args); err != nil {
			return withHint(usageError("gpm exec: %v", err),
				"run %s from cmd or PowerShell with your own quoting", path)
		}
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, c.stdout, c.stderr
	cmd.Dir = c.g.dir
	// While the tool runs, gpm's own handling of SIGINT and SIGTERM (stop
	// cleanly, then die on the second) gives way to forwarding: the tool
	// decides what a signal means, and gpm waits for it.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", path, err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			// As a shell reports it: 128 + the signal's number.
			code = 128 + int(ws.Signal())
		}
		if code < 0 {
			code = exitFailure
		}
		return &exitStatus{code: code}
	}
	if err != nil {
		return fmt.Errorf("running %s: %w", path, err)
	}
	return nil
}

// exitStatus is the exit status of a tool gpm exec ran: gpm exits with it
// and prints nothing, since the tool has said what went wrong.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }
