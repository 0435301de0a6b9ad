package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/server"
)

// serveFlags are gpm serve's own flags.
type serveFlags struct {
	addr, dir, tokenFile, addrFile string
	tokens, readTokens             []string
	maxFileSize                    int64
	redirect                       bool
}

func serveCmd() *command {
	var f serveFlags
	cmd := &command{name: "serve", args: "[--addr A] [--dir D] [--token T]... [--read-token T]... [--token-file F] [--max-file-size BYTES] [--redirect-downloads] [--addr-file F]",
		summary: "run a local GitLab-compatible generic package registry",
		example: "gpm serve --addr 127.0.0.1:8080 --dir ./.gpm-registry"}
	cmd.flags = func(fs *pflag.FlagSet) {
		fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT` (port 0 picks a free one)")
		fs.StringVar(&f.dir, "dir", ".gpm-registry", "keep the registry in `DIR`")
		fs.StringArrayVar(&f.tokens, "token", nil, "accept `TOKEN` as a private token (repeatable); without any, only loopback is served and anyone there may publish")
		fs.StringArrayVar(&f.readTokens, "read-token", nil, "accept `TOKEN` for listing and downloading only: publishing and deleting answer 403 (repeatable)")
		fs.StringVar(&f.tokenFile, "token-file", "", "accept the tokens in `FILE`, one per line, \"read TOKEN\" for a read-only one (# starts a comment)")
		fs.Int64Var(&f.maxFileSize, "max-file-size", server.DefaultMaxFileSize, "refuse uploads over `BYTES` with 400 \"File is too large\", before storing anything (0: no limit)")
		fs.BoolVar(&f.redirect, "redirect-downloads", false, "redirect downloads to a second, object-storage listener, as GitLab with object storage does")
		fs.StringVar(&f.addrFile, "addr-file", "", "write the registry's URL to `FILE` once it accepts connections (removed on exit)")
	}
	cmd.run = func(c *cli, args []string) error { return runServe(c, args, f) }
	return cmd
}

// serveShutdownTimeout bounds how long a stopping server waits for requests
// in flight before it cuts their connections.
const serveShutdownTimeout = 10 * time.Second

// serveUploadIdleTimeout is how long an upload body may deliver nothing
// before gpm serve gives up on it (408). It is not a limit on the whole
// upload, which may take as long as it needs while bytes arrive.
const serveUploadIdleTimeout = time.Minute

// jsonServe is the --json document of gpm serve, printed once it listens.
type jsonServe struct {
	URL              string `json:"url"`
	ObjectStorageURL string `json:"object_storage_url,omitempty"`
	Dir              string `json:"dir"`
	Auth             string `json:"auth"` // "anonymous" or "token"
}

// runServe serves internal/server's GitLab-compatible API over a DiskStore
// until the context is cancelled (SIGINT, SIGTERM), then shuts down
// gracefully.
func runServe(c *cli, args []string, f serveFlags) error {
	// Access-log lines come from the servers' goroutines.
	c.stderr = &lockedWriter{w: c.stderr}
	if len(args) > 0 {
		return withHint(usageError("gpm serve takes no arguments, got %q", args[0]), "run 'gpm help serve' for usage")
	}
	tokens, err := serveTokens(c, f)
	if err != nil {
		return err
	}
	if f.maxFileSize < 0 {
		return withHint(usageError("--max-file-size %d: want a size in bytes, or 0 for no limit", f.maxFileSize), "GitLab's default is %d (5 GiB)", server.DefaultMaxFileSize)
	}

	ln, tcp, err := serveListen(f.addr, len(tokens) > 0)
	if err != nil {
		return err
	}
	defer ln.Close()
	store, err := server.NewDiskStore(c.path(f.dir))
	if errors.Is(err, server.ErrLocked) {
		return withHint(err, "another gpm serve is using it: stop that one, or give this one another --dir")
	}
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			c.warnf("%v", err)
		}
	}()

	logf, logger := serveLogger(c)
	team := server.Team{Tokens: tokens, MaxFileSize: f.maxFileSize, UploadIdleTimeout: serveUploadIdleTimeout, Logf: logf}
	readers := 0
	for _, t := range tokens {
		if t.ReadOnly {
			readers++
		}
	}
	auth := "token"
	if len(tokens) == 0 {
		auth = "anonymous"
	}
	srv, err := server.NewTeam(store, team)
	if err != nil {
		return err
	}
	projects, err := store.Projects()
	if err != nil {
		return err
	}

	api := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: logger}
	servers := []*http.Server{api}
	listeners := []net.Listener{ln}
	info := jsonServe{URL: "http://" + displayAddr(tcp, f.addr), Dir: store.Dir(), Auth: auth}
	if f.redirect {
		oln, err := listenObjectStorage(tcp)
		if err != nil {
			return fmt.Errorf("object storage listener: %w", err)
		}
		defer oln.Close()
		info.ObjectStorageURL = "http://" + displayAddr(oln.Addr().(*net.TCPAddr), f.addr)
		srv.EnableRedirects(info.ObjectStorageURL)
		servers = append(servers, &http.Server{Handler: srv.ObjectStorageHandler(), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: logger})
		listeners = append(listeners, oln)
	}

	// Connections wait in the listeners' backlog until Serve.
	if c.g.json {
		if err := writeJSON(c, info); err != nil {
			return err
		}
	}
	serveAnnounce(c, info, len(projects), len(tokens)-readers, readers)
	return serveUntilDone(c, servers, listeners, f.addrFile, info.URL)
}

// serveListen listens on addr. Without tokens anyone who can reach the
// registry may publish, so only a loopback address is allowed then.
func serveListen(addr string, tokens bool) (net.Listener, *net.TCPAddr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, withHint(fmt.Errorf("listen on %q: %w", addr, err),
			"pick another address with --addr, e.g. --addr 127.0.0.1:0 for any free port")
	}
	tcp, _ := ln.Addr().(*net.TCPAddr)
	if !tokens && (tcp == nil || !tcp.IP.IsLoopback()) {
		ln.Close()
		return nil, nil, withHint(usageError("refusing to serve on %q without a token: it is not a loopback address, and anyone who can reach it could publish", addr),
			"give --token or --token-file, or listen on loopback only, e.g. --addr 127.0.0.1:8080")
	}
	return ln, tcp, nil
}

// serveUntilDone serves until the context is cancelled (SIGINT, SIGTERM)
// or a server fails, writing the URL to addrFile (if given) once the
// listeners accept connections, then shuts the servers down gracefully.
func serveUntilDone(c *cli, servers []*http.Server, listeners []net.Listener, addrFile, url string) error {
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() { errc <- s.Serve(listeners[i]) }()
	}
	if addrFile != "" {
		path := c.path(addrFile)
		if err := writeAddrFile(path, url); err != nil {
			stopServers(servers)
			return fmt.Errorf("write --addr-file: %w", err)
		}
		defer os.Remove(path)
	}

	var serveErr error
	select {
	case <-c.ctx.Done():
	case serveErr = <-errc:
	}
	stopServers(servers)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	if c.g.json {
		slog.New(slog.NewJSONHandler(c.stderr, nil)).Info("stopped")
	} else {
		c.printf("gpm: stopped\n")
	}
	return nil
}

// serveTokens gathers the tokens of --token, --read-token and --token-file,
// where a line is a token, or "read" and a token for a read-only one. A
// token given both ways is an error, since one of the two would be
// ignored.
func serveTokens(c *cli, f serveFlags) ([]server.TeamToken, error) {
	var tokens []server.TeamToken
	for _, flag := range []struct {
		name     string
		values   []string
		readOnly bool
	}{{"--token", f.tokens, false}, {"--read-token", f.readTokens, true}} {
		for _, t := range flag.values {
			if t == "" || strings.ContainsFunc(t, isSpaceOrControl) {
				return nil, usageError("%s: a token is a non-empty word without spaces", flag.name)
			}
			tokens = append(tokens, server.TeamToken{Value: t, ReadOnly: flag.readOnly})
		}
	}
	if f.tokenFile != "" {
		data, err := os.ReadFile(c.path(f.tokenFile))
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		n := 0
		for i, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			t := server.TeamToken{Value: line}
			if rest, ok := strings.CutPrefix(line, "read"); ok && rest != "" && isSpaceOrControl(rune(rest[0])) {
				t = server.TeamToken{Value: strings.TrimSpace(rest), ReadOnly: true}
			} else if line == "read" {
				// A "read TOKEN" line split in two would otherwise make
				// "read", and the token on the next line, tokens that may
				// publish.
				return nil, withHint(usageError("%s:%d: \"read\" needs a token on the same line", f.tokenFile, i+1),
					"write a read-only token as: read TOKEN")
			}
			if strings.ContainsFunc(t.Value, isSpaceOrControl) {
				return nil, withHint(usageError("%s:%d: a line is a token, one word without spaces, or \"read\" and a token", f.tokenFile, i+1),
					"write a read-only token as: read TOKEN")
			}
			tokens = append(tokens, t)
			n++
		}
		if n == 0 {
			return nil, withHint(usageError("--token-file %q holds no token", f.tokenFile), "put one token per line, \"read TOKEN\" for a read-only one; lines starting with # are comments")
		}
	}
	seen := map[string]bool{}
	for _, t := range tokens {
		if ro, ok := seen[t.Value]; ok && ro != t.ReadOnly {
			return nil, usageError("a token is given both as a read-only token and as one that may publish")
		}
		seen[t.Value] = t.ReadOnly
	}
	return tokens, nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// serveLogger returns the access-log function for server.Options.Logf and
// the logger for net/http's own errors: plain lines on stderr, JSON objects
// under --json, nothing under -q.
func serveLogger(c *cli) (func(string, ...any), *log.Logger) {
	switch {
	case c.g.quiet:
		return nil, log.New(io.Discard, "", 0)
	case c.g.json:
		l := slog.New(slog.NewJSONHandler(c.stderr, nil))
		return func(format string, args ...any) { l.Info(fmt.Sprintf(format, args...)) },
			slog.NewLogLogger(l.Handler(), slog.LevelError)
	}
	l := log.New(c.stderr, "", log.LstdFlags)
	return l.Printf, l
}

// serveAnnounce says where the registry listens and who may use it.
func serveAnnounce(c *cli, info jsonServe, projects, writers, readers int) {
	if c.g.quiet {
		return
	}
	if c.g.json {
		slog.New(slog.NewJSONHandler(c.stderr, nil)).Info("serving", "url", info.URL, "object_storage_url", info.ObjectStorageURL, "dir", info.Dir, "auth", info.Auth, "projects", projects, "tokens", writers, "read_tokens", readers)
		return
	}
	c.printf("gpm: serving %s (storage %s)\n", info.URL, info.Dir)
	if info.ObjectStorageURL != "" {
		c.printf("gpm: downloads redirect to object storage at %s\n", info.ObjectStorageURL)
	}
	if info.Auth == "anonymous" {
		c.printf("gpm: no token set: anyone on this machine may read and publish, whatever credentials they send; projects are created on first publish\n")
	} else {
		c.printf("gpm: every request needs one of the tokens (%d may publish, %d may only read); projects are created on first publish\n", writers, readers)
	}
	c.printf("gpm: use it with [registry] url = %q in packages.toml; stop with Ctrl-C\n", info.URL)
}

// displayAddr is the host:port to print and put in URLs for a listener:
// a wildcard address shows as loopback, which reaches it from this machine.
func displayAddr(a *net.TCPAddr, requested string) string {
	if a == nil {
		return requested
	}
	ip := a.IP
	if ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
		if host, _, err := net.SplitHostPort(requested); err == nil && strings.Contains(host, ":") {
			ip = net.IPv6loopback
		}
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

// listenObjectStorage opens the object-storage listener on a free port: on
// 127.0.0.2 when the API is on 127.0.0.1, so that clients see another host
// as they do with GitLab's object storage (where 127.0.0.2 is not set up, as
// on macOS, on another port of the API's address), else on the API's
// address.
func listenObjectStorage(api *net.TCPAddr) (net.Listener, error) {
	if api == nil {
		return net.Listen("tcp", "127.0.0.1:0")
	}
	if api.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		if ln, err := net.Listen("tcp", "127.0.0.2:0"); err == nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", net.JoinHostPort(api.IP.String(), "0"))
}

// writeAddrFile writes url to path through a temp file and a rename, so a
// script polling for the file never reads half of it.
func writeAddrFile(path, url string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".addr-*")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(url + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// lockedWriter serializes writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// stopServers shuts the servers down gracefully, cutting the connections
// of requests that do not finish within serveShutdownTimeout.
func stopServers(servers []*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			s.Close()
		}
	}
}
