package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/platform"
	"github.com/gpmtool/gpm/internal/project"
)

// globals are the flags every command accepts.
type globals struct {
	dir        string // -C
	manifest   string // --manifest
	jobs       int    // -j
	quiet      bool   // -q
	verbose    bool   // -v
	json       bool   // --json
	noProgress bool   // --no-progress
	platform   string // --platform
	help       bool   // -h
}

func (g *globals) register(fs *pflag.FlagSet) {
	fs.StringVarP(&g.dir, "chdir", "C", "", "run as if gpm was started in `DIR`")
	fs.StringVar(&g.manifest, "manifest", "", "path to the manifest `FILE` (the lock sits beside it; default: packages.toml in the working directory or its nearest parent)")
	fs.IntVarP(&g.jobs, "jobs", "j", 8, "listings in flight at once, and downloads in flight at once")
	fs.BoolVarP(&g.quiet, "quiet", "q", false, "print only errors")
	fs.BoolVarP(&g.verbose, "verbose", "v", false, "print each HTTP request and the credential source used")
	fs.BoolVar(&g.json, "json", false, "print one JSON document on stdout (human text stays on stderr)")
	fs.BoolVar(&g.noProgress, "no-progress", false, "never draw progress bars")
	fs.StringVar(&g.platform, "platform", "", "install for `OS-ARCH` (e.g. linux-arm64) instead of this machine; default $GPM_PLATFORM")
	fs.BoolVarP(&g.help, "help", "h", false, "show help")
}

// cli is what a command runs with: its context, output streams and the
// global flags, with paths resolved against -C.
type cli struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	g      globals
	cmd    *command
	// commands are this run's commands (newCommands).
	commands []*command
	// jsonWritten records that the command printed its --json document.
	jsonWritten bool
}

// path resolves p against the -C directory.
func (c *cli) path(p string) string {
	if filepath.IsAbs(p) || c.g.dir == "" {
		return p
	}
	return filepath.Join(c.g.dir, p)
}

// manifestPath is the manifest file: --manifest (after -C) when given, else
// packages.toml in the -C directory, else the nearest packages.toml in the
// working directory or its parents (project.Find). When there is none it is
// packages.toml in the working directory, which loadProject reports missing.
func (c *cli) manifestPath() string {
	if c.g.manifest != "" || c.g.dir != "" {
		return c.newManifestPath()
	}
	if p, err := project.Find(".", manifest.FileName); err == nil {
		return p
	}
	return manifest.FileName
}

// newManifestPath is where gpm init writes: never a parent's manifest.
func (c *cli) newManifestPath() string {
	if c.g.manifest != "" {
		return c.path(c.g.manifest)
	}
	return c.path(manifest.FileName)
}

// searchedParents reports whether manifestPath looked beyond one directory.
func (c *cli) searchedParents() bool { return c.g.manifest == "" && c.g.dir == "" }

// lockPath is the lock file beside the manifest: packages.toml gives
// packages.lock, tools.toml gives tools.lock.
func (c *cli) lockPath() string {
	m := c.manifestPath()
	return strings.TrimSuffix(m, filepath.Ext(m)) + ".lock"
}

func displayDir(d string) string {
	if d == "." {
		if wd, err := os.Getwd(); err == nil {
			return wd
		}
	}
	return d
}

// printf writes human text to stderr unless -q was given.
func (c *cli) printf(format string, args ...any) {
	if c.g.quiet {
		return
	}
	fmt.Fprintf(c.stderr, format, args...)
}

// warnf writes a warning line; like all human text but errors, -q hides it.
func (c *cli) warnf(format string, args ...any) {
	label := "warning:"
	if c.colour() {
		label = "\x1b[33mwarning:\x1b[0m"
	}
	c.printf("gpm: %s %s\n", label, sanitize(fmt.Sprintf(format, args...)))
}

// signalsReady, when set, is closed once Ctrl-C and SIGTERM cancel run's
// context (main sets it): run starts no command before, so a command that
// writes always has them handled. Tests leave it nil.
var signalsReady <-chan struct{}

// run is gpm's entry point: it parses the command line, runs one command and
// returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{ctx: ctx, stdout: stdout, stderr: stderr, getenv: os.Getenv, commands: newCommands()}

	top := pflag.NewFlagSet("gpm", pflag.ContinueOnError)
	top.SetOutput(io.Discard)
	top.SetInterspersed(false)
	c.g.register(top)
	var showVersion bool
	top.BoolVar(&showVersion, "version", false, "print the version")
	// When the command line cannot be parsed, still honour a --json in it:
	// scripts that asked for JSON get the error as JSON.
	wantsJSON := slices.Contains(args, "--json")
	if err := top.Parse(args); err != nil {
		c.g.json = c.g.json || wantsJSON
		return c.fail(hint.Wrap(usageError("%v", err), "run 'gpm help' for usage"))
	}
	rest := top.Args()
	saved := c.g
	switch {
	case showVersion:
		rest = []string{"version"}
	case len(rest) == 0 && c.g.json:
		// stdout holds one JSON document: help as JSON, or the error.
		if c.g.help {
			return c.fail(runHelp(c, nil))
		}
		return c.fail(hint.Wrap(usageError("no command given"), "run 'gpm help' for the list of commands"))
	case len(rest) == 0:
		printUsage(stdout, c.commands)
		if c.g.help {
			return exitOK
		}
		return exitUsage
	}

	name, cmdArgs := rest[0], rest[1:]
	cmd := lookupCommand(c.commands, name)
	if cmd == nil {
		c.g.json = c.g.json || wantsJSON
		return c.fail(unknownCommand(c.commands, name, "gpm "))
	}
	c.cmd = cmd

	fs := pflag.NewFlagSet("gpm "+cmd.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.g.register(fs)
	// Registering resets the variables to their defaults; values given
	// before the command name stay in force.
	c.g = saved
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	if err := fs.Parse(cmdArgs); err != nil {
		c.g.json = c.g.json || wantsJSON
		return c.fail(flagError(cmd, fs, err))
	}
	if c.g.help {
		if c.g.json {
			return c.fail(runHelp(c, []string{cmd.name}))
		}
		printCommandHelp(stdout, cmd, fs)
		return exitOK
	}
	if c.g.jobs < 1 {
		return c.fail(usageError("--jobs must be at least 1, got %d", c.g.jobs))
	}
	if c.g.platform != "" {
		if _, err := platform.Parse(c.g.platform); err != nil {
			return c.fail(hint.Wrap(usageError("--platform: %v", err), "write the platform as OS-ARCH in Go's names, as in linux-amd64 or darwin-arm64"))
		}
	}
	if c.g.quiet && c.g.verbose {
		return c.fail(usageError("-q and -v cannot be used together"))
	}
	if signalsReady != nil {
		<-signalsReady
	}
	return c.fail(cmd.run(c, fs.Args()))
}

// flagError turns a pflag error into a usage error with a did-you-mean.
func flagError(cmd *command, fs *pflag.FlagSet, err error) error {
	msg := err.Error()
	uerr := usageError("gpm %s: %s", cmd.name, msg)
	if bad, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		var names []string
		fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
		if s := suggest(bad, names); s != "" {
			return hint.Wrap(uerr, fmt.Sprintf("did you mean --%s?", s))
		}
	}
	return hint.Wrap(uerr, fmt.Sprintf("run 'gpm help %s' for usage", cmd.name))
}

// fail prints err in gpm's error style and returns its exit code.
func (c *cli) fail(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, context.Canceled) && c.ctx != nil && c.ctx.Err() != nil {
		// Ctrl-C (or SIGTERM): say so in words, not as Go's "context
		// canceled". Every command stops cleanly; install and update leave
		// the lock and the vendor directory as they were.
		err = errInterrupted
	}
	code := exitCode(err)
	if _, ok := errors.AsType[*exitStatus](err); ok {
		// gpm exec: the tool's own status; the tool said what went wrong.
		return code
	}
	printError(c.stderr, err, c.colour())
	if c.g.json && !c.jsonWritten {
		c.writeJSONError(err, code)
	}
	return code
}

// printError writes "gpm: error: ..." for each line of err and a
// "gpm: hint: ..." line for each hint in its chain. Control characters that
// slipped into a message are made visible rather than sent to the terminal.
func printError(w io.Writer, err error, colour bool) {
	errLabel, hintLabel := "error:", "hint:"
	if colour {
		errLabel, hintLabel = "\x1b[1;31merror:\x1b[0m", "\x1b[36mhint:\x1b[0m"
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if line == "" {
			continue
		}
		fmt.Fprintf(w, "gpm: %s %s\n", errLabel, sanitize(line))
	}
	for _, h := range hint.Of(err) {
		fmt.Fprintf(w, "gpm: %s %s\n", hintLabel, sanitize(h))
	}
}

// sanitize replaces control characters (escape sequences included) with
// their quoted form so a hostile server cannot drive the user's terminal.
func sanitize(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			q := fmt.Sprintf("%q", string(r))
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 }
