//go:build unix

package main

import (
	"bytes"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/server"
)

// TestCrashDumpHasNoToken makes gpm dump every goroutine's stack, as a
// panic or SIGQUIT does, while it holds a token and waits on the registry,
// and checks that the dump does not show the token: Go prints a frame's
// arguments as machine words, never a string's bytes, and gpm never panics
// with a value that holds one (its one panic is a constant message).
func TestCrashDumpHasNoToken(t *testing.T) {
	t.Parallel()
	const token = "glpat-CRASHDUMP-s3cret-0009"
	srv := server.New(server.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	if err := srv.AddProject(server.Project{ID: 1, Path: "acme/tools", Visibility: server.Private}); err != nil {
		t.Fatal(err)
	}
	srv.AddMember(1, "alice", server.Reporter)
	srv.AddToken(server.Token{Value: token, User: "alice"})
	if _, err := srv.Publish(1, "tool", "1.0.0", "tool.bin", []byte("tool\n"), ""); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddFault(server.Fault{Kind: server.FaultSlow, Delay: 10 * time.Second, Times: -1}); err != nil {
		t.Fatal(err)
	}

	root := t.TempDir()
	writeFiles(t, root, map[string]string{"packages.toml": "[packages.tool]\nproject = 1\n"})
	cmd := gpmCmd(root, hermeticEnv(t, hs.URL, filepath.Join(root, "cache"), "GPM_TOKEN="+token, "GOTRACEBACK=all"), "-v", "install")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.Counts()[server.KindListPackages] == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("gpm sent no request:\n%s", stderr.String())
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGQUIT)
	cmd.Wait()
	dump := stderr.String()
	if !strings.Contains(dump, "SIGQUIT") || !strings.Contains(dump, "goroutine ") {
		t.Fatalf("no stack dump:\n%s", dump)
	}
	if strings.Contains(dump, token) {
		t.Errorf("the stack dump shows the token:\n%s", dump)
	}
}
