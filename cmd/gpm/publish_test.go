package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/server"
)

// GitLab's file_sha256 in the answer to an upload must equal the local
// SHA-256: bytes changed on the way (here by a proxy that flips one) are an
// integrity failure, exit 4, naming both hashes.
func TestPublishComparesStoredSHA256(t *testing.T) {
	srv := server.New(server.Options{})
	if err := srv.AddProject(server.Project{ID: 1, Path: "acme/tools"}); err != nil {
		t.Fatal(err)
	}
	srv.AddUser("alice")
	srv.AddMember(1, "alice", server.Developer)
	srv.AddToken(server.Token{Value: "alice-token", User: "alice"})
	proxy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			body, err := io.ReadAll(r.Body)
			if err != nil || len(body) == 0 {
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
			body[0] ^= 0x20
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		srv.ServeHTTP(w, r)
	})
	hs := httptest.NewServer(proxy)
	defer hs.Close()

	const content = "the build\n"
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"tool.bin": content})
	p := runGPM(t, dir, hermeticEnv(t, hs.URL, filepath.Join(dir, "cache"), "GPM_TOKEN=alice-token"),
		"publish", "--project", "1", "--package", "tool", "--version", "1.0.0", "tool.bin")
	corrupted := "T" + content[1:]
	if p.code != exitIntegrity || !strings.Contains(p.stderr, "tool.bin: GitLab stored different bytes than were sent") ||
		!strings.Contains(p.stderr, "local:     sha256 "+sha256Hex(content)) || !strings.Contains(p.stderr, "published: sha256 "+sha256Hex(corrupted)) {
		t.Errorf("exit %d, want %d naming both SHA-256s; stderr:\n%s", p.code, exitIntegrity, p.stderr)
	}
	if strings.Contains(p.stderr, "published tool@1.0.0") {
		t.Errorf("the summary claims success:\n%s", p.stderr)
	}
}
