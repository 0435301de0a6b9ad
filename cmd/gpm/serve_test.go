package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gpmtool/gpm/internal/server"
)

// cmdWaitFile waits for a file that a background command writes, such as
// gpm serve's --addr-file, and optionally puts its content in a variable:
//
//	waitfile FILE [VAR]
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfile FILE [VAR]")
	}
	data, err := waitForFile(ts.MkAbs(args[0]), 10*time.Second, nil)
	ts.Check(err)
	if len(args) == 2 {
		ts.Setenv(args[1], strings.TrimSpace(string(data)))
	}
}

// waitForFile polls for a non-empty file until timeout, or until exited
// (when not nil) is closed.
func waitForFile(path string, timeout time.Duration, exited <-chan struct{}) ([]byte, error) {
	deadline := time.Now().Add(timeout)
	for {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			return data, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("the process exited before writing %s", path)
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s not written within %v", path, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer that a subprocess and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gpmEnv is a hermetic environment for gpm subprocesses.
func gpmEnv(t *testing.T, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GPM_TOKEN", "GPM_TOKEN_TYPE", "GITLAB_TOKEN", "CI_JOB_TOKEN", "CI_SERVER_URL", "CI_PROJECT_ID", "CI_COMMIT_TAG", "GITLAB_CI", "NETRC", "GPM_CACHE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, append([]string{"GPM_CACHE=" + filepath.Join(t.TempDir(), "cache"), "NO_COLOR=1"}, extra...)...)
}

// serveProc is a gpm serve subprocess.
type serveProc struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	exited chan struct{}
}

// startServe starts gpm serve on a free loopback port over dir and waits
// until it accepts connections.
func startServe(t *testing.T, dir string, args ...string) *serveProc {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("stops gpm serve with SIGINT")
	}
	addrFile := filepath.Join(t.TempDir(), "addr")
	p := &serveProc{stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command("gpm", append([]string{"serve", "--addr", "127.0.0.1:0", "--dir", dir, "--addr-file", addrFile}, args...)...)
	p.cmd.Env = gpmEnv(t)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	data, err := waitForFile(addrFile, 10*time.Second, p.exited)
	if err != nil {
		t.Fatalf("gpm serve: %v\n%s", err, p.stderr)
	}
	p.url = strings.TrimSpace(string(data))
	return p
}

// stop interrupts the server like Ctrl-C and checks it shut down cleanly.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("gpm serve did not stop on SIGINT\n%s", p.stderr)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(p.stderr.String(), "gpm: stopped") {
		t.Fatalf("gpm serve stopped with exit code %d\n%s", code, p.stderr)
	}
}

// crash kills the server without letting it clean up.
func (p *serveProc) crash(t *testing.T) {
	t.Helper()
	p.cmd.Process.Kill()
	<-p.exited
}

// put uploads a generic package file and checks for 201.
func put(t *testing.T, base, project, pkg, version, file, body string, hdr ...string) {
	t.Helper()
	if err := tryPut(base, project, pkg, version, file, body, hdr...); err != nil {
		t.Fatal(err)
	}
}

func tryPut(base, project, pkg, version, file, body string, hdr ...string) error {
	u := fmt.Sprintf("%s/api/v4/projects/%s/packages/generic/%s/%s/%s", base, strings.ReplaceAll(project, "/", "%2F"), pkg, version, file)
	req, err := http.NewRequest(http.MethodPut, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("PUT %s: %s %s", u, resp.Status, b)
	}
	return nil
}

func httpGet(base, path string, hdr ...string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		return 0, "", err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// gpmRun runs the gpm binary and returns its exit code and stderr.
func gpmRun(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("gpm", args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// A registry keeps what was published across a restart: gpm installs from
// the second server what was published to the first.
func TestServeRestartInstall(t *testing.T) {
	t.Parallel()
	reg := t.TempDir()
	srv := startServe(t, reg)
	put(t, srv.url, "acme/tools", "tool", "1.0.0", "tool.sh", "echo 1.0.0\n")
	put(t, srv.url, "acme/tools", "tool", "1.1.0", "tool.sh", "echo 1.1.0\n")
	put(t, srv.url, "acme/tools", "tool", "1.1.0", "README", "read me\n")
	put(t, srv.url, "acme/tools", "tool", "2.0.0", "tool.sh", "echo 2.0.0\n")
	put(t, srv.url, "42", "other", "0.1.0", "o.txt", "other\n")
	srv.stop(t)
	if !strings.Contains(srv.stderr.String(), "PUT /api/v4/projects/acme%2Ftools/packages/generic/tool/1.1.0/README 201") {
		t.Errorf("no access log line for an upload:\n%s", srv.stderr)
	}

	srv = startServe(t, reg)
	proj := t.TempDir()
	manifest := fmt.Sprintf("[registry]\nurl = %q\n\n[packages.tool]\nproject = \"acme/tools\"\nversion = \"^1.0\"\n\n[packages.other]\nproject = 42\nversion = \"0.1.0\"\n", srv.url)
	must(t, os.WriteFile(filepath.Join(proj, "packages.toml"), []byte(manifest), 0o666))
	env := gpmEnv(t)
	if code, stderr := gpmRun(t, env, "-C", proj, "install"); code != 0 {
		t.Fatalf("gpm install after a restart: exit %d\n%s\nserver:\n%s", code, stderr, srv.stderr)
	}
	for path, want := range map[string]string{
		"vendor/tool/tool.sh": "echo 1.1.0\n",
		"vendor/tool/README":  "read me\n",
		"vendor/other/o.txt":  "other\n",
	} {
		got, err := os.ReadFile(filepath.Join(proj, path))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q %v, want %q", path, got, err, want)
		}
	}
	if code, stderr := gpmRun(t, env, "-C", proj, "verify"); code != 0 {
		t.Errorf("gpm verify: exit %d\n%s", code, stderr)
	}
	srv.stop(t)
}

// A server killed in the middle of an upload leaves nothing visible: after
// a restart the version does not exist, no blob was kept and the partial
// upload's temp file is gone.
func TestServeCrashMidUpload(t *testing.T) {
	t.Parallel()
	reg := t.TempDir()
	srv := startServe(t, reg)
	put(t, srv.url, "acme/tools", "tool", "1.0.0", "tool.sh", "kept\n")

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.url, "http://"))
	must(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /api/v4/projects/acme%%2Ftools/packages/generic/tool/2.0.0/big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
	conn.Write(bytes.Repeat([]byte("x"), 300000))
	deadline := time.Now().Add(10 * time.Second)
	for {
		ents, _ := os.ReadDir(filepath.Join(reg, "tmp"))
		if len(ents) > 0 {
			if fi, err := ents[0].Info(); err == nil && fi.Size() > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the upload never reached the registry's tmp\n%s", srv.stderr)
		}
		time.Sleep(time.Millisecond)
	}
	srv.crash(t)

	srv = startServe(t, reg)
	if ents, _ := os.ReadDir(filepath.Join(reg, "tmp")); len(ents) != 0 {
		t.Errorf("tmp after the restart holds %d entries", len(ents))
	}
	if ents, _ := os.ReadDir(filepath.Join(reg, "blobs", "sha256")); len(ents) != 1 {
		t.Errorf("blobs after the restart: %d, want only the completed upload's", len(ents))
	}
	code, body, err := httpGet(srv.url, "/api/v4/projects/acme%2Ftools/packages")
	must(t, err)
	var pkgs []struct{ Version string }
	if code != 200 || json.Unmarshal([]byte(body), &pkgs) != nil || len(pkgs) != 1 || pkgs[0].Version != "1.0.0" {
		t.Errorf("packages after the restart: %d %s, want only 1.0.0", code, body)
	}
	if code, _, _ := httpGet(srv.url, "/api/v4/projects/acme%2Ftools/packages/generic/tool/2.0.0/big.bin"); code != http.StatusNotFound {
		t.Errorf("download of the interrupted upload: %d, want 404", code)
	}
	if code, body, _ := httpGet(srv.url, "/api/v4/projects/acme%2Ftools/packages/generic/tool/1.0.0/tool.sh"); code != 200 || body != "kept\n" {
		t.Errorf("download of the completed upload: %d %q", code, body)
	}
	srv.stop(t)
}

// Uploads of several versions in parallel, next to downloads, all land and
// survive a restart.
func TestServeConcurrent(t *testing.T) {
	t.Parallel()
	reg := t.TempDir()
	srv := startServe(t, reg)
	put(t, srv.url, "acme/tools", "base", "1.0.0", "base.bin", strings.Repeat("base ", 20000))
	content := func(v, f int) string { return strings.Repeat(fmt.Sprintf("%d.%d ", v, f), 5000+v) }
	const versions, files = 6, 3
	var wg sync.WaitGroup
	errs := make(chan error, versions*files*2)
	for v := range versions {
		wg.Go(func() {
			// GitLab wants a version's files one at a time.
			for f := range files {
				errs <- tryPut(srv.url, "acme/tools", "pkg", fmt.Sprintf("1.%d.0", v), fmt.Sprintf("f%d.bin", f), content(v, f))
			}
		})
		wg.Go(func() {
			for range files {
				code, body, err := httpGet(srv.url, "/api/v4/projects/acme%2Ftools/packages/generic/base/1.0.0/base.bin")
				if err == nil && (code != 200 || body != strings.Repeat("base ", 20000)) {
					err = fmt.Errorf("download while uploading: %d, %d bytes", code, len(body))
				}
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	srv.stop(t)

	srv = startServe(t, reg)
	for v := range versions {
		for f := range files {
			code, body, err := httpGet(srv.url, fmt.Sprintf("/api/v4/projects/acme%%2Ftools/packages/generic/pkg/1.%d.0/f%d.bin", v, f))
			if err != nil || code != 200 || body != content(v, f) {
				t.Errorf("after a restart, 1.%d.0/f%d.bin: %d, %d bytes, %v", v, f, code, len(body), err)
			}
		}
	}
	srv.stop(t)
}

// serveInProcess runs gpm serve through run until cancel is called, and
// returns its URL and a function that stops it and returns what it printed.
// Tests using it must not run in parallel: gpm's flags are package state.
func serveInProcess(t *testing.T, args ...string) (url string, stop func() (code int, stdout, stderr string)) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	var code int
	exited := make(chan struct{})
	go func() {
		code = run(ctx, append(args, "--addr", "127.0.0.1:0", "--addr-file", addrFile), &stdout, &stderr)
		close(exited)
	}()
	data, err := waitForFile(addrFile, 10*time.Second, exited)
	if err != nil {
		cancel()
		<-exited
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	stopped := false
	stop = func() (int, string, string) {
		if stopped {
			t.Fatal("stopped twice")
		}
		stopped = true
		cancel()
		<-exited
		return code, stdout.String(), stderr.String()
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return strings.TrimSpace(string(data)), stop
}

// With tokens, every request needs one; --json prints the URL on stdout
// and logs JSON objects on stderr, never the token.
func TestServeTokensJSON(t *testing.T) {
	const secret = "s3cr3t-value"
	dir := t.TempDir()
	tokenFile := filepath.Join(t.TempDir(), "tokens")
	must(t, os.WriteFile(tokenFile, []byte("# serve tokens\n\n  other-token  \n"), 0o666))
	url, stop := serveInProcess(t, "--json", "serve", "--dir", dir, "--token", secret, "--token-file", tokenFile, "--read-token", "reader-token")

	put(t, url, "7", "tool", "1.0.0", "a.txt", "a\n", "Private-Token", secret)
	put(t, url, "7", "tool", "1.0.1", "a.txt", "b\n", "Private-Token", "other-token")
	if err := tryPut(url, "7", "tool", "1.0.2", "a.txt", "c\n"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("anonymous upload: %v, want 401", err)
	}
	for _, hdr := range []string{"Private-Token", "Deploy-Token"} {
		if err := tryPut(url, "7", "tool", "1.0.2", "a.txt", "c\n", hdr, "reader-token"); err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("upload with the read-only token in %s: %v, want 403", hdr, err)
		}
	}
	for _, tc := range []struct {
		hdr  []string
		want int
	}{
		{nil, 401},
		{[]string{"Private-Token", "wrong"}, 401},
		{[]string{"Private-Token", secret}, 200},
		{[]string{"Private-Token", "other-token"}, 200},
		{[]string{"Private-Token", "reader-token"}, 200},
		{[]string{"Deploy-Token", "reader-token"}, 200},
		{[]string{"Deploy-Token", secret}, 200},
	} {
		if code, _, err := httpGet(url, "/api/v4/projects/7/packages/generic/tool/1.0.0/a.txt", tc.hdr...); err != nil || code != tc.want {
			t.Errorf("download with %v: %d %v, want %d", tc.hdr, code, err, tc.want)
		}
	}

	code, stdout, stderr := stop()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var info jsonServe
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&info); err != nil || info.URL != url || info.Auth != "token" || info.Dir != dir {
		t.Errorf("--json document %+v (%v), want url %s, auth token, dir %s", info, err, url, dir)
	}
	if dec.More() {
		t.Errorf("stdout holds more than one JSON document:\n%s", stdout)
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("stderr line is not JSON: %q", line)
			continue
		}
		msgs = append(msgs, fmt.Sprint(m["msg"]))
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"serving", "PUT /api/v4/projects/7/packages/generic/tool/1.0.0/a.txt 201", "GET /api/v4/projects/7/packages/generic/tool/1.0.0/a.txt 401", "stopped"} {
		if !strings.Contains(all, want) {
			t.Errorf("stderr has no %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stderr, `"tokens":2,"read_tokens":1`) {
		t.Errorf("the serving line does not count 2 tokens and 1 read-only one:\n%s", stderr)
	}
	if strings.Contains(stdout+stderr, secret) || strings.Contains(stdout+stderr, "other-token") || strings.Contains(stdout+stderr, "reader-token") {
		t.Errorf("a token value was printed:\n%s\n%s", stdout, stderr)
	}
}

// Without a token anyone on loopback may publish, whatever credentials they
// send, and a restarted server gives the user back the projects created
// before.
func TestServeAnonymousLoopback(t *testing.T) {
	dir := t.TempDir()
	url, stop := serveInProcess(t, "serve", "--dir", dir)
	put(t, url, "acme/tools", "tool", "1.0.0", "a.txt", "a\n")
	if code, stdout, stderr := stop(); code != 0 || stdout != "" || !strings.Contains(stderr, "gpm: serving "+url+" (storage "+dir+")") {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	url, stop = serveInProcess(t, "serve", "--dir", dir)
	// A client's stray token (say a GITLAB_TOKEN meant for another
	// instance) does not lock it out.
	put(t, url, "acme/tools", "tool", "1.1.0", "a.txt", "b\n", "Private-Token", "stray")
	if code, body, _ := httpGet(url, "/api/v4/projects/acme%2Ftools/packages"); code != 200 || strings.Count(body, `"version"`) != 2 {
		t.Errorf("list after a restart: %d %s", code, body)
	}
	if code, _, stderr := stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}

// gpm publish without any credential publishes to a gpm serve without a
// token, which accepts anonymous uploads (both are on loopback); a gpm
// serve with tokens refuses it, exit 5 with the hint to set one.
func TestServePublishWithoutToken(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"tool.bin": "the tool\n"})
	args := []string{"publish", "--project", "acme/tools", "--package", "tool", "--version", "1.0.0", "tool.bin"}

	url, _ := serveInProcess(t, "serve", "--dir", t.TempDir())
	p := runGPM(t, dir, hermeticEnv(t, url, filepath.Join(dir, "cache")), args...)
	if p.code != 0 || !strings.Contains(p.stderr, "published tool@1.0.0 to project acme/tools: 1 uploaded") {
		t.Fatalf("anonymous publish to a token-less gpm serve: exit %d\n%s", p.code, p.stderr)
	}
	if code, body, err := httpGet(url, "/api/v4/projects/acme%2Ftools/packages/generic/tool/1.0.0/tool.bin"); err != nil || code != 200 || body != "the tool\n" {
		t.Errorf("download of what was published: %d %q %v", code, body, err)
	}

	url, _ = serveInProcess(t, "serve", "--dir", t.TempDir(), "--token", "s3cret")
	p = runGPM(t, dir, hermeticEnv(t, url, filepath.Join(dir, "cache")), args...)
	if p.code != exitDenied || !strings.Contains(p.stderr, "gpm: hint: no credentials were found for "+url+"/api/v4, so gpm tried without any") ||
		!strings.Contains(p.stderr, "gpm: hint: set GPM_TOKEN") {
		t.Errorf("anonymous publish to a gpm serve with a token: exit %d, want %d with the hints\n%s", p.code, exitDenied, p.stderr)
	}
}

func TestServeErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	must(t, os.WriteFile(empty, []byte("# no tokens here\n\n"), 0o666))
	spaced := filepath.Join(dir, "spaced")
	must(t, os.WriteFile(spaced, []byte("good\nbad token\n"), 0o666))
	readSpaced := filepath.Join(dir, "readspaced")
	must(t, os.WriteFile(readSpaced, []byte("read bad token\n"), 0o666))
	both := filepath.Join(dir, "both")
	must(t, os.WriteFile(both, []byte("bad\nread bad\n"), 0o666))
	locked := filepath.Join(dir, "locked")
	held, err := server.NewDiskStore(locked)
	must(t, err)
	t.Cleanup(func() { held.Close() }) // after the parallel subtests, not before them
	badMeta := filepath.Join(dir, "badmeta")
	must(t, os.MkdirAll(badMeta, 0o777))
	must(t, os.WriteFile(filepath.Join(badMeta, "meta.json"), []byte("{"), 0o666))

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"argument", []string{"extra"}, 2, `takes no arguments, got "extra"`},
		{"not loopback", []string{"--addr", "0.0.0.0:0"}, 2, `refusing to serve on "0.0.0.0:0" without a token`},
		{"empty token file", []string{"--token-file", empty}, 2, "holds no token"},
		{"token with a space", []string{"--token", "bad token"}, 2, "without spaces"},
		{"token file with a space", []string{"--token-file", spaced}, 2, "spaced:2: a line is a token, one word without spaces, or \"read\" and a token"},
		{"read token file line with a space", []string{"--token-file", readSpaced}, 2, "readspaced:1: a line is a token"},
		{"read token with a space", []string{"--read-token", "bad token"}, 2, "--read-token: a token is a non-empty word without spaces"},
		{"token both ways", []string{"--token", "bad", "--read-token", "bad"}, 2, "a token is given both as a read-only token and as one that may publish"},
		{"token both ways in a file", []string{"--token-file", both}, 2, "a token is given both as a read-only token and as one that may publish"},
		{"negative size limit", []string{"--max-file-size", "-1"}, 2, "--max-file-size -1: want a size in bytes, or 0 for no limit"},
		{"missing token file", []string{"--token-file", filepath.Join(dir, "nope")}, 1, "--token-file"},
		{"bad address", []string{"--addr", "127.0.0.1:notaport"}, 1, `listen on "127.0.0.1:notaport"`},
		{"locked", []string{"--dir", locked}, 1, "in use by another process"},
		{"bad meta.json", []string{"--dir", badMeta}, 1, "meta.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // run keeps no state between calls
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--dir", filepath.Join(t.TempDir(), "reg")}, tc.args...)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("gpm %s: exit %d, want %d with %q; stderr:\n%s", strings.Join(args, " "), code, tc.code, tc.want, stderr.String())
			}
			if strings.Contains(stderr.String(), "bad token") {
				t.Errorf("a token value was printed:\n%s", stderr.String())
			}
		})
	}
}

func TestDisplayAddr(t *testing.T) {
	for _, tc := range []struct {
		addr      *net.TCPAddr
		requested string
		want      string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "127.0.0.1:8080", "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 80}, "192.0.2.7:80", "192.0.2.7:80"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 9000}, ":9000", "127.0.0.1:9000"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 9000}, "0.0.0.0:9000", "127.0.0.1:9000"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 9000}, "[::]:9000", "[::1]:9000"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 1}, "[::1]:1", "[::1]:1"},
	} {
		if got := displayAddr(tc.addr, tc.requested); got != tc.want {
			t.Errorf("displayAddr(%v, %q) = %q, want %q", tc.addr, tc.requested, got, tc.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
