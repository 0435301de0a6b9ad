package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/manifest"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{usageError("bad"), 2},
		{fmt.Errorf("wrapped: %w", usageError("bad")), 2},
		{hint.Wrap(usageError("bad"), "fix it"), 2},
		{&manifest.Error{}, 2},
		{&kindError{kind: errors.New("other"), msg: "x"}, 1},
		{errInterrupted, 130},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	names := commandNames(newCommands())
	for in, want := range map[string]string{
		"instal":   "install",
		"isntall":  "install",
		"udpate":   "update",
		"ver":      "",
		"vers":     "version",
		"xyz":      "",
		"doctr":    "doctor",
		"publsih":  "publish",
		"outdatd":  "outdated",
		"serach":   "search",
		"remvoe":   "remove",
		"complete": "",
	} {
		if got := suggest(in, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPrintErrorSanitizes(t *testing.T) {
	var buf bytes.Buffer
	printError(&buf, hint.Wrap(errors.New("bad \x1b[31mred\x1b[0m\nsecond line"), "try \x07this"), false)
	want := "gpm: error: bad \\x1b[31mred\\x1b[0m\ngpm: error: second line\ngpm: hint: try \\athis\n"
	if buf.String() != want {
		t.Errorf("printError wrote %q, want %q", buf.String(), want)
	}
}

// run keeps no state between calls (flags are locals of each command's
// constructor), so calls run in parallel.
func TestRunFlagsBeforeAndAfterCommand(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--json", "version"},
		{"version", "--json"},
		{"-q", "version", "--json"},
		{"verify", "--remote", "--json", "-C", "/nonexistent"},
		{"verify", "--json", "-C", "/nonexistent"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := run(context.Background(), args, &out, &errb)
			if args[0] == "verify" {
				// No manifest there: a usage error, as a JSON document.
				if code != exitUsage || !strings.Contains(out.String(), `"exit_code": 2`) {
					t.Errorf("run(%q) = %d, stdout %q", args, code, out.String())
				}
				return
			}
			if code != 0 {
				t.Fatalf("run(%q) = %d: %s", args, code, errb.String())
			}
			if !strings.HasPrefix(out.String(), "{") {
				t.Errorf("run(%q) stdout = %q, want JSON", args, out.String())
			}
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range newCommands() {
		if c.run == nil {
			t.Errorf("command %q has no run function", c.name)
		}
		if c.summary == "" || c.example == "" {
			t.Errorf("command %q lacks a summary or an example", c.name)
		}
		if c.summary != strings.ToLower(c.summary[:1])+c.summary[1:] || strings.HasSuffix(c.summary, ".") {
			t.Errorf("command %q: summary %q should start lowercase and have no period", c.name, c.summary)
		}
	}
}

func TestFlagUsages(t *testing.T) {
	var c *command
	for _, cmd := range newCommands() {
		if cmd.name == "serve" {
			c = cmd
		}
	}
	fs := pflag.NewFlagSet("", pflag.ContinueOnError)
	c.flags(fs)
	got := flagUsages(fs)
	for _, want := range []string{
		"      --redirect-downloads    ",
		"      --addr HOST:PORT        listen on HOST:PORT (port 0 picks a free one) (default 127.0.0.1:8080)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("flagUsages lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "[=") {
		t.Errorf("flagUsages shows a boolean flag as taking a value:\n%s", got)
	}
}
