package main

import "testing"

func TestDefaultShell(t *testing.T) {
	for _, tc := range []struct{ shell, goos, want string }{
		{"/bin/bash", "linux", "sh"},
		{"/usr/bin/zsh", "darwin", "sh"},
		{"/usr/local/bin/fish", "linux", "fish"},
		{"/usr/bin/pwsh", "linux", "powershell"},
		{`C:\Program Files\PowerShell\7\pwsh.exe`, "windows", "powershell"},
		{"/bin/tcsh", "linux", "sh"},
		{"", "linux", "sh"},
		{"", "windows", "cmd"},
		{"/usr/bin/bash", "windows", "sh"},
	} {
		if got := defaultShell(tc.shell, tc.goos); got != tc.want {
			t.Errorf("defaultShell(%q, %q) = %q, want %q", tc.shell, tc.goos, got, tc.want)
		}
	}
}

// The cmd line carries the PATH gpm computed: run again with the PATH it
// set, gpm env sets the same PATH.
func TestEnvScriptCmdIdempotent(t *testing.T) {
	dir := `C:\work\my proj\vendor\.bin`
	first := envScript("cmd", dir, `C:\Windows;C:\tools`)
	if want := `set "PATH=C:\work\my proj\vendor\.bin;C:\Windows;C:\tools"` + "\n"; first != want {
		t.Fatalf("first = %q, want %q", first, want)
	}
	path := first[len(`set "PATH=`) : len(first)-2]
	if again := envScript("cmd", dir, path); again != first {
		t.Errorf("again = %q, want %q", again, first)
	}
	if got := envScript("cmd", dir, `C:\Windows;c:\work\my proj\vendor\.bin\`); got != `set "PATH=C:\Windows;c:\work\my proj\vendor\.bin\"`+"\n" {
		t.Errorf("with the dir already on PATH: %q", got)
	}
	if got := envScript("cmd", dir, ""); got != `set "PATH=C:\work\my proj\vendor\.bin"`+"\n" {
		t.Errorf("empty PATH: %q", got)
	}
}
