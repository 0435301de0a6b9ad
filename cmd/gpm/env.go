package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// envShells are the shells gpm env writes for.
var envShells = []string{"sh", "fish", "powershell", "cmd"}

func envCmd() *command {
	var shell string
	return &command{
		name: "env", args: "[--shell sh|fish|powershell|cmd]",
		summary: "print shell lines that put vendor/.bin first on PATH, for eval",
		example: `eval "$(gpm env)"`,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&shell, "shell", "", "write for `SHELL`: sh (also bash, zsh, dash, ksh), fish, powershell or cmd; default from $SHELL, else cmd on Windows, else sh")
		},
		run: func(c *cli, args []string) error {
			if len(args) > 0 {
				return withHint(usageError("gpm env takes no arguments"), "choose the shell with --shell sh|fish|powershell|cmd")
			}
			sh := shell
			if sh == "" {
				sh = defaultShell(c.getenv("SHELL"), runtime.GOOS)
			}
			sh = shellName(sh)
			if !slices.Contains(envShells, sh) {
				err := usageError("gpm env: unknown shell %q", shell)
				if s := suggest(shell, envShells); s != "" {
					return withHint(err, "did you mean --shell %s?", s)
				}
				return withHint(err, "choose one of --shell %s", strings.Join(envShells, ", "))
			}
			p, err := c.loadProject()
			if err != nil {
				return err
			}
			dir, err := p.BinDir()
			if err != nil {
				return err
			}
			if sep := pathListSeparator(sh, runtime.GOOS); strings.Contains(dir, sep) {
				// PATH would split the directory in two, and one half may
				// be relative: no quoting helps.
				return withHint(usageError("gpm env: %s contains %q, which separates directories in PATH", dir, sep),
					"move the project to a directory whose path has no %q, or add the tools to PATH by hand", sep)
			}
			script := envScript(sh, dir, c.getenv("PATH"))
			if c.g.json {
				return writeJSON(c, jsonEnv{BinDir: dir, Shell: sh, Script: script})
			}
			fmt.Fprint(c.stdout, script)
			return nil
		},
	}
}

// pathListSeparator is what separates the directories of PATH for shell
// sh on goos.
func pathListSeparator(sh, goos string) string {
	if sh == "cmd" || sh == "powershell" && goos == "windows" {
		return ";"
	}
	return ":"
}

// jsonEnv is the --json document of gpm env.
type jsonEnv struct {
	BinDir string `json:"bin_dir"`
	Shell  string `json:"shell"`
	Script string `json:"script"`
}

// defaultShell is the shell gpm env writes for without --shell: the base
// name of $SHELL when gpm knows it, else cmd on Windows, else sh.
func defaultShell(shellVar, goos string) string {
	if shellVar != "" {
		base := filepath.Base(strings.ReplaceAll(shellVar, `\`, "/"))
		if sh := shellName(base); slices.Contains(envShells, sh) {
			return sh
		}
	}
	if goos == "windows" {
		return "cmd"
	}
	return "sh"
}

// shellName maps a shell's program name to the syntax gpm env writes.
func shellName(s string) string {
	s = strings.TrimSuffix(strings.ToLower(s), ".exe")
	switch s {
	case "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "busybox":
		return "sh"
	case "pwsh", "powershell":
		return "powershell"
	case "cmd":
		return "cmd"
	}
	return s
}

// envScript is what gpm env prints for shell sh: lines that put dir first
// on PATH unless it is already on it, so that evaluating them twice adds it
// once. cmd has no such test that survives "for /f ... do": its line sets
// PATH to the value gpm computed from its own $PATH, which is idempotent
// when run in the shell that started gpm.
func envScript(sh, dir, path string) string {
	switch sh {
	case "fish":
		q := fishQuote(dir)
		return fmt.Sprintf("contains -- %s $PATH; or set -gx PATH %s $PATH\n", q, q)
	case "powershell":
		q := psQuote(dir)
		return fmt.Sprintf("if (-not ($env:PATH -split [IO.Path]::PathSeparator -contains %s)) { $env:PATH = %s + [IO.Path]::PathSeparator + $env:PATH }\n", q, q)
	case "cmd":
		next := dir
		if path != "" {
			next = dir + ";" + path
			for _, e := range strings.Split(path, ";") {
				if strings.EqualFold(strings.TrimRight(e, `\`), strings.TrimRight(dir, `\`)) {
					next = path
					break
				}
			}
		}
		return fmt.Sprintf("set \"PATH=%s\"\n", next)
	}
	q := shQuote(dir)
	return fmt.Sprintf("case \":${PATH}:\" in *:%s:*) ;; *) export PATH=%s\"${PATH:+:${PATH}}\";; esac\n", q, q)
}

// shQuote quotes s for a POSIX shell: in single quotes, each quote in s
// ending the quoting, escaped with a backslash and quoting again.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuote quotes s for fish: in single quotes, \ and ' escaped.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// psQuote quotes s for PowerShell: in single quotes, each ' doubled (and
// the typographic quotes PowerShell also accepts).
func psQuote(s string) string {
	return "'" + strings.NewReplacer("'", "''", "\u2018", "\u2018\u2018", "\u2019", "\u2019\u2019", "\u201a", "\u201a\u201a", "\u201b", "\u201b\u201b").Replace(s) + "'"
}
