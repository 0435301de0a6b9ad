package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/hint"
)

// command is one gpm subcommand.
type command struct {
	name    string
	args    string // usage after the name
	summary string
	example string
	flags   func(*pflag.FlagSet)
	run     func(c *cli, args []string) error
}

// newCommands builds every command of DESIGN.md, in the order help shows
// them. Each constructor keeps its flags in local variables, so the
// commands built for one run share no state with another run's.
func newCommands() []*command {
	return []*command{
		initCmd(), addCmd(), removeCmd(), installCmd(), updateCmd(), verifyCmd(), outdatedCmd(), listCmd(), execCmd(), envCmd(),
		publishCmd(), searchCmd(), doctorCmd(), serveCmd(), versionCmd(), helpCmd(),
	}
}

func lookupCommand(commands []*command, name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func commandNames(commands []*command) []string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return names
}

const globalFlagsHelp = `Global flags:
  -C, --chdir DIR      run as if gpm was started in DIR
      --manifest FILE  path to packages.toml (the lock sits beside it)
  -j, --jobs N         listings, and downloads, in flight at once (default 8 each)
  -q, --quiet          print only errors
  -v, --verbose        print each HTTP request and the credential source used
      --json           print one JSON document on stdout; human text stays on stderr
      --no-progress    never draw progress bars
`

const exitCodesHelp = `Exit codes:
  0 success                     4 integrity failure (checksum, tampered files)
  1 failure (network, server)   5 access denied (401, 403, hidden project)
  2 usage or invalid files      6 not found (package, version, file)
  3 lock out of date (--locked) or network needed (--offline)
`

func printUsage(w io.Writer, commands []*command) {
	fmt.Fprint(w, "gpm manages dependencies on GitLab generic packages.\n\nUsage:\n  gpm [global flags] COMMAND [flags] [args]\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, "\nExamples:\n")
	for _, c := range commands {
		if c.example != "" {
			fmt.Fprintf(w, "  %s\n", c.example)
		}
	}
	fmt.Fprint(w, "\n"+globalFlagsHelp+"\n"+exitCodesHelp+"\nRun 'gpm help COMMAND' for a command's flags and example.\n")
}

func printCommandHelp(w io.Writer, c *command, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: gpm %s %s\n\n%s.\n", c.name, c.args, strings.ToUpper(c.summary[:1])+c.summary[1:])
	if fs != nil {
		own := pflag.NewFlagSet("", pflag.ContinueOnError)
		if c.flags != nil {
			c.flags(own)
		}
		if own.HasFlags() {
			fmt.Fprintf(w, "\nFlags:\n%s", flagUsages(own))
		}
	}
	if c.example != "" {
		fmt.Fprintf(w, "\nExample:\n  %s\n", c.example)
	}
	fmt.Fprint(w, "\n"+globalFlagsHelp)
}

func helpCmd() *command {
	return &command{
		name:    "help",
		args:    "[COMMAND]",
		summary: "show help for gpm or one command",
		example: "gpm help install",
		run:     runHelp,
	}
}

// jsonCommand describes a command in gpm help --json.
type jsonCommand struct {
	Name    string `json:"name"`
	Usage   string `json:"usage"`
	Summary string `json:"summary"`
	Example string `json:"example"`
	// Implemented is always true: every command gpm lists runs. It stays
	// because schema 1 promised the field (docs/json.md).
	Implemented bool `json:"implemented"`
}

func runHelp(c *cli, args []string) error {
	if c.g.json && len(args) <= 1 {
		var list []jsonCommand
		for _, cmd := range c.commands {
			if len(args) == 0 || cmd.name == args[0] {
				list = append(list, jsonCommand{cmd.name, strings.TrimSpace("gpm " + cmd.name + " " + cmd.args), cmd.summary, cmd.example, true})
			}
		}
		if len(list) > 0 {
			return writeJSON(c, map[string]any{"commands": list})
		}
	}
	switch len(args) {
	case 0:
		printUsage(c.stdout, c.commands)
		return nil
	case 1:
		cmd := lookupCommand(c.commands, args[0])
		if cmd == nil {
			return unknownCommand(c.commands, args[0], "gpm help ")
		}
		printCommandHelp(c.stdout, cmd, pflag.NewFlagSet("", pflag.ContinueOnError))
		return nil
	}
	return usageError("gpm help takes at most one command, got %d", len(args))
}

// unknownCommand is the usage error for a command name gpm does not know,
// with a hint: prefix and the closest command, or where the list is.
func unknownCommand(commands []*command, name, prefix string) error {
	err := usageError("unknown command %q", name)
	if s := suggest(name, commandNames(commands)); s != "" {
		return withHint(err, "did you mean '%s%s'?", prefix, s)
	}
	return withHint(err, "run 'gpm help' for the list of commands")
}

// suggest returns the candidate closest to s when it is a plausible typo or
// an unambiguous prefix, and "" otherwise.
func suggest(s string, candidates []string) string {
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	var prefixed []string
	best, bestDist := "", len(s)+1
	for _, c := range sorted {
		if len(s) >= 2 && strings.HasPrefix(c, s) {
			prefixed = append(prefixed, c)
		}
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist <= 1+len(s)/4 {
		return best
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// withHint attaches a formatted hint to err.
func withHint(err error, format string, args ...any) error {
	return hint.Wrap(err, fmt.Sprintf(format, args...))
}

// flagUsages lists a command's flags like the global flags: "--name VALUE"
// and a description, aligned. pflag's own listing shows boolean flags as
// "--name[=true|false]", which reads as if the flag needed a value.
func flagUsages(fs *pflag.FlagSet) string {
	type row struct{ left, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		left := "      --" + f.Name
		if f.Shorthand != "" {
			left = "  -" + f.Shorthand + ", --" + f.Name
		}
		varname, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() != "bool" && varname != "" {
			left += " " + varname
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.Value.Type() != "bool" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	})
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%-*s   %s\n", width, r.left, r.usage)
	}
	return b.String()
}
