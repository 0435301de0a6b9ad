package main

import (
	"strings"
	"testing"
)

// gpm exec runs a Windows .cmd shim through cmd.exe on a command line of
// its own: quoted so that a path with spaces and arguments with spaces
// arrive whole, and refused where cmd.exe would act on a character (run
// a second command, expand a variable) instead of passing it on.
func TestCmdShimLine(t *testing.T) {
	for _, tc := range []struct {
		path string
		args []string
		want string // "" for a refusal
		err  string
	}{
		{`C:\p\vendor\.bin\deploy.cmd`, nil, `/d /s /c ""C:\p\vendor\.bin\deploy.cmd""`, ""},
		{`C:\Users\Jo Smith\p\vendor\.bin\deploy.cmd`, []string{"--env", "my stage", ""},
			`/d /s /c ""C:\Users\Jo Smith\p\vendor\.bin\deploy.cmd" --env "my stage" """`, ""},
		{`C:\p\deploy.cmd`, []string{"--msg=a&calc"}, "", `argument "--msg=a&calc" holds '&'`},
		{`C:\p\deploy.cmd`, []string{"x|y"}, "", `holds '|'`},
		{`C:\p\deploy.cmd`, []string{"%PATH%"}, "", `holds '%'`},
		{`C:\p\deploy.cmd`, []string{`say "hi"`}, "", `holds '"'`},
		{`C:\100%\deploy.cmd`, nil, "", `the tool's path "C:\\100%\\deploy.cmd" holds '%'`},
	} {
		got, err := cmdShimLine(tc.path, tc.args)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("cmdShimLine(%q, %q) = %q, %v; want an error with %q", tc.path, tc.args, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("cmdShimLine(%q, %q) = %q, %v\nwant %q", tc.path, tc.args, got, err, tc.want)
		}
	}
}
