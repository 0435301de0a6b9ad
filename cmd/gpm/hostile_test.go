//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHostileRegistry installs from registries that serve unsafe file
// names, look-alike package names, endless or huge bodies, pagination and
// redirect loops, redirects to other schemes and terminal escapes. Every
// one fails (or, for look-alike names, picks the exact name) with the
// expected exit code and message, within seconds and bounded memory,
// writing nothing outside the project and no lock, and printing no raw
// control characters.
func TestHostileRegistry(t *testing.T) {
	t.Parallel()
	outsideName := fmt.Sprintf("gpm-hostile-%d", time.Now().UnixNano())
	absTarget := filepath.Join(os.TempDir(), outsideName)

	tests := []struct {
		name     string
		reg      *hostileRegistry
		code     int
		stderr   []string // regexps that must match
		lock     bool     // the install succeeds and writes a lock
		maxLine  int      // longest stderr line allowed (0: 400)
		notAsked []string // request paths that must not be made
	}{
		{name: "dot-dot file name", reg: &hostileRegistry{files: filesNamed("../../outside/evil.txt")},
			code: 1, stderr: []string{`^gpm: error: tool@1.0.0: .*unsafe file name "\.\./\.\./outside/evil\.txt": contains a "\." or "\.\." segment`}},
		{name: "absolute file name", reg: &hostileRegistry{files: filesNamed(absTarget)},
			code: 1, stderr: []string{`unsafe file name ".*": absolute path`}},
		{name: "backslashes", reg: &hostileRegistry{files: filesNamed(`..\..\outside\evil.txt`)},
			code: 1, stderr: []string{`unsafe file name .*: contains a backslash`}},
		{name: "percent-encoded dot-dot", reg: &hostileRegistry{files: filesNamed("..%2F..%2Foutside%2Fevil.txt")},
			code: 1, stderr: []string{`unsafe file name "\.\./\.\./outside/evil\.txt"`}},
		{name: "percent-encoded dots", reg: &hostileRegistry{files: filesNamed("%2e%2e%2f%2e%2e%2fevil.txt")},
			code: 1, stderr: []string{`unsafe file name "\.\./\.\./evil\.txt"`}},
		{name: "NUL in file name", reg: &hostileRegistry{files: filesNamed("tool.bin\x00.txt")},
			code: 1, stderr: []string{`unsafe file name "tool\.bin\\x00\.txt": contains a control character`}},
		{name: "encoded NUL", reg: &hostileRegistry{files: filesNamed("tool.bin%00.txt")},
			code: 1, stderr: []string{`unsafe file name .*control character`}},
		{name: "escape sequence in file name", reg: &hostileRegistry{files: filesNamed("tool\x1b]0;pwned\x07.bin")},
			code: 1, stderr: []string{`unsafe file name .*control character`}},
		{name: "drive letter", reg: &hostileRegistry{files: filesNamed("C:evil.txt")},
			code: 1, stderr: []string{`unsafe file name "C:evil\.txt": looks like a drive letter`}},
		{name: "5000-byte file name", reg: &hostileRegistry{files: filesNamed(strings.Repeat("a", 5000))},
			code: 1, stderr: []string{`unsafe file name "a{120}\.\.\.": longer than 1024 bytes`}},
		{name: "300-byte path segment", reg: &hostileRegistry{files: filesNamed(strings.Repeat("b", 300)), download: serveTool},
			code: 1, stderr: []string{`^gpm: error: tool@1\.0\.0: .*file name too long`}, maxLine: 800},
		{name: "unsafe version", reg: &hostileRegistry{packages: func(w http.ResponseWriter, r *http.Request) {
			writeJSONBody(w, []map[string]any{packageRow(1, "tool", "../../1.0.0")})
		}}, code: 1, stderr: []string{`^gpm: error: tool: .*unsafe version "\.\./\.\./1\.0\.0"`}},
		{name: "names that differ only in case", reg: &hostileRegistry{packages: func(w http.ResponseWriter, r *http.Request) {
			writeJSONBody(w, []map[string]any{packageRow(3, "TOOL", "9.9.9"), packageRow(2, "Tool", "5.0.0"), packageRow(1, "tool", "1.0.0"), packageRow(4, "tool-extra", "8.0.0")})
		}}, lock: true, notAsked: []string{"/api/v4/projects/1/packages/3/package_files", "/api/v4/projects/1/packages/2/package_files", "/api/v4/projects/1/packages/generic/TOOL/9.9.9/tool.bin"}},
		{name: "endless JSON listing", reg: &hostileRegistry{packages: endless(200, "[", " ")},
			code: 1, stderr: []string{`^gpm: error: tool: .*response larger than 32 MiB`}},
		{name: "endless error body", reg: &hostileRegistry{packages: endless(500, `{"message":"`, "A")},
			code: 1, stderr: []string{`^gpm: error: tool: giving up after 4 attempts: .*500 Internal Server Error`}},
		{name: "endless download", reg: &hostileRegistry{download: endless(200, "", "x")},
			code: 4, stderr: []string{`^gpm: error: tool@1\.0\.0: .*size mismatch`}},
		{name: "endless pagination", reg: &hostileRegistry{packages: func(w http.ResponseWriter, r *http.Request) {
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			q := r.URL.Query()
			q.Set("page", strconv.Itoa(max(page, 1)+1))
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?%s>; rel="next"`, r.Host, r.URL.Path, q.Encode()))
			writeJSONBody(w, []map[string]any{})
		}}, code: 1, stderr: []string{`^gpm: error: tool: .*more than 1000 pages`}},
		{name: "pagination loop", reg: &hostileRegistry{packages: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Next-Page", "1")
			writeJSONBody(w, []map[string]any{packageRow(1, "tool", "1.0.0")})
		}}, code: 1, stderr: []string{`^gpm: error: tool: .*same page twice`}},
		{name: "redirect loop", reg: &hostileRegistry{download: redirectTo("")},
			code: 1, stderr: []string{`^gpm: error: tool@1\.0\.0: .*stopped after 10 redirects`}},
		{name: "redirect to file:", reg: &hostileRegistry{download: redirectTo("file:///etc/passwd")},
			code: 1, stderr: []string{`^gpm: error: tool@1\.0\.0: .*refusing redirect .* to a "file" url`}},
		{name: "redirect to data:", reg: &hostileRegistry{download: redirectTo("data:text/plain,tool%20bytes%0A")},
			code: 1, stderr: []string{`refusing redirect .* to a "data" url`}},
		{name: "redirect to ftp:", reg: &hostileRegistry{download: redirectTo("ftp://127.0.0.1/tool.bin")},
			code: 1, stderr: []string{`refusing redirect .* to a "ftp" url`}},
		{name: "terminal escapes in an error", reg: &hostileRegistry{packages: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"message":"403 Forbidden \u001b]0;pwned\u0007\u001b[2J\u001b[31mred\r\nfake: line"}`))
		}}, code: 5, stderr: []string{`^gpm: error: tool: .*403 Forbidden`}},
		{name: "negative size", reg: &hostileRegistry{files: func(w http.ResponseWriter, r *http.Request) {
			writeJSONBody(w, []map[string]any{fileRow(7, "tool.bin", -5, toolSHA256)})
		}}, code: 1, stderr: []string{`negative size`}},
		{name: "sha256 not hex", reg: &hostileRegistry{files: func(w http.ResponseWriter, r *http.Request) {
			writeJSONBody(w, []map[string]any{fileRow(7, "tool.bin", 11, "../../"+strings.Repeat("z", 58))})
		}}, code: 1, stderr: []string{`invalid sha256`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hs := httptest.NewServer(tc.reg)
			defer hs.Close()
			root := t.TempDir()
			dir := filepath.Join(root, "project")
			outside := filepath.Join(root, "outside")
			writeFiles(t, dir, map[string]string{"packages.toml": "[packages.tool]\nproject = 1\n"})
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "gpm", "install")
			cmd.Dir = dir
			cmd.Env = hermeticEnv(t, hs.URL, filepath.Join(root, "cache"))
			start := time.Now()
			peak := make(chan int64, 1)
			p := runCmd(t, cmd, func(pid int, done <-chan struct{}) { peak <- peakRSS(pid, done) })
			elapsed := time.Since(start)
			peakKB := <-peak
			t.Logf("exit %d after %v, peak RSS %d MiB:\n%s", p.code, elapsed.Round(time.Millisecond), peakKB>>10, p.stderr)

			if elapsed > 30*time.Second {
				t.Errorf("gpm took %v", elapsed)
			}
			if tc.lock {
				if p.code != 0 {
					t.Fatalf("exit %d, want 0:\n%s", p.code, p.stderr)
				}
				if lock := readFile(t, filepath.Join(dir, "packages.lock")); !bytes.Contains(lock, []byte(`version = "1.0.0"`)) || !bytes.Contains(lock, []byte(`package = "tool"`)) {
					t.Errorf("lock:\n%s", lock)
				}
			} else {
				if p.code != tc.code {
					t.Errorf("exit %d, want %d:\n%s", p.code, tc.code, p.stderr)
				}
				if _, err := os.Stat(filepath.Join(dir, "packages.lock")); err == nil {
					t.Error("a lock was written")
				}
				if _, err := os.Lstat(filepath.Join(dir, "vendor", "tool")); err == nil {
					t.Error("vendor/tool was created")
				}
			}
			for _, re := range tc.stderr {
				if !regexp.MustCompile("(?m)" + re).MatchString(p.stderr) {
					t.Errorf("stderr does not match %q:\n%s", re, p.stderr)
				}
			}
			if i := strings.IndexFunc(p.stderr+p.stdout, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }); i >= 0 {
				t.Errorf("raw control character %q in the output:\n%q", (p.stderr + p.stdout)[i], p.stderr)
			}
			limit := tc.maxLine
			if limit == 0 {
				limit = 400
			}
			for _, line := range strings.Split(p.stderr, "\n") {
				if len(line) > limit {
					t.Errorf("a %d-byte line of output (limit %d): %.200s...", len(line), limit, line)
				}
			}
			if ents, _ := os.ReadDir(outside); len(ents) > 0 {
				t.Errorf("gpm wrote %s outside the project", ents[0].Name())
			}
			if _, err := os.Lstat(absTarget); err == nil {
				os.Remove(absTarget)
				t.Errorf("gpm wrote %s", absTarget)
			}
			asked := tc.reg.requested()
			for _, path := range tc.notAsked {
				for _, a := range asked {
					if a == path {
						t.Errorf("gpm requested %s", path)
					}
				}
			}
			// Bodies are read with bounds: an endless one costs at most
			// the 32 MiB listing limit, not all the memory there is (and
			// an unbounded read would not end at all).
			memLimit := int64(256 << 10) // KiB
			if raceBuild() {
				memLimit *= 4 // the race detector's shadow memory
			}
			if peakKB > memLimit {
				t.Errorf("gpm used %d MiB of memory (limit %d MiB)", peakKB>>10, memLimit>>10)
			}
		})
	}
}
