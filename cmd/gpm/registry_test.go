package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gpmtool/gpm/internal/server"
)

// Every script gets its own GitLab-compatible registry (internal/server) on
// loopback. Its URL is in $REGISTRY and is also the default registry of
// packages.toml files without [registry] url, through $CI_SERVER_URL.
// Scripts seed and inspect it with the "registry" command.

const serverKey = "registry"

func setupRegistry(e *testscript.Env) error {
	srv := server.New(server.Options{})
	ts := httptest.NewServer(srv)
	e.Defer(ts.Close)
	e.Values[serverKey] = &scriptRegistry{srv: srv, url: ts.URL}
	e.Setenv("REGISTRY", ts.URL)
	e.Setenv("CI_SERVER_URL", ts.URL)
	e.Setenv("GPM_RETRY_BASE", "1ms")
	return nil
}

type scriptRegistry struct {
	srv     *server.Server
	url     string
	storage *http.Server
}

var roles = map[string]server.Role{
	"guest": server.Guest, "reporter": server.Reporter, "developer": server.Developer,
	"maintainer": server.Maintainer, "owner": server.Owner,
}

// cmdRegistry seeds and inspects the script's registry:
//
//	registry project ID PATH [public|internal|private]
//	registry member PROJECT USER ROLE
//	registry token [-expired] VALUE TYPE USER [PROJECT] [SCOPE,...]
//	registry allowjob TARGET SOURCE
//	registry publish [-status S] [-as NAME] PROJECT PACKAGE VERSION FILE...
//	registry versions PROJECT PACKAGE FORMAT FROM TO FILE   (publishes FORMAT % i for i in FROM..TO)
//	registry status PROJECT PACKAGE VERSION STATUS
//	registry delete PROJECT PACKAGE VERSION
//	registry files PROJECT PACKAGE VERSION N (asserts the version holds N files, duplicates included)
//	registry dups PROJECT allowed|disallowed
//	registry maxsize BYTES       (the upload size limit; 0 restores GitLab's default)
//	registry fault [-times N] [-status CODE] [-after B] [-retry-after D] [-delay D] METHOD PATH KIND
//	registry clearfaults
//	registry requests KIND N     (asserts the count; "total" sums every kind)
//	registry await KIND N        (waits up to 10s until N requests of KIND arrived, for kill -INT)
//	registry resetcounts
//	registry latency DURATION
//	registry redirects           (downloads answer 302 to a second loopback host)
//	registry leaks N             (asserts how many credentials object storage saw)
func cmdRegistry(ts *testscript.TestScript, neg bool, args []string) {
	r := ts.Value(serverKey).(*scriptRegistry)
	if len(args) == 0 {
		ts.Fatalf("usage: registry SUBCOMMAND ...")
	}
	id := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		ts.Check(err)
		return n
	}
	sub, args := args[0], args[1:]
	if neg && sub != "requests" && sub != "leaks" {
		ts.Fatalf("registry %s does not support !", sub)
	}
	want := func(n int) {
		if len(args) < n {
			ts.Fatalf("registry %s: need %d arguments", sub, n)
		}
	}
	switch sub {
	case "project":
		want(2)
		vis := server.Private
		if len(args) > 2 {
			vis = args[2]
		}
		ts.Check(r.srv.AddProject(server.Project{ID: id(args[0]), Path: args[1], Visibility: vis}))
	case "member":
		want(3)
		role, ok := roles[args[2]]
		if !ok {
			ts.Fatalf("unknown role %q", args[2])
		}
		r.srv.AddMember(id(args[0]), args[1], role)
	case "token":
		fs := flag.NewFlagSet("token", flag.ContinueOnError)
		expired := fs.Bool("expired", false, "")
		ts.Check(fs.Parse(args))
		args = fs.Args()
		want(3)
		t := server.Token{Value: args[0], Type: args[1], User: args[2], Expired: *expired}
		if len(args) > 3 {
			t.ProjectID = id(args[3])
		}
		if len(args) > 4 {
			t.Scopes = strings.Split(args[4], ",")
		}
		r.srv.AddToken(t)
	case "allowjob":
		want(2)
		r.srv.AllowJobToken(id(args[0]), id(args[1]))
	case "publish":
		fs := flag.NewFlagSet("publish", flag.ContinueOnError)
		status := fs.String("status", "", "")
		as := fs.String("as", "", "")
		ts.Check(fs.Parse(args))
		args = fs.Args()
		want(4)
		for _, f := range args[3:] {
			data, err := os.ReadFile(ts.MkAbs(f))
			ts.Check(err)
			name := f[strings.LastIndex(f, "/")+1:]
			if *as != "" {
				name = *as
			}
			_, err = r.srv.Publish(id(args[0]), args[1], args[2], name, data, *status)
			ts.Check(err)
		}
	case "versions":
		want(6)
		data, err := os.ReadFile(ts.MkAbs(args[5]))
		ts.Check(err)
		from, to := id(args[3]), id(args[4])
		for i := from; i <= to; i++ {
			_, err := r.srv.Publish(id(args[0]), args[1], fmt.Sprintf(args[2], i), args[5][strings.LastIndex(args[5], "/")+1:], data, "")
			ts.Check(err)
		}
	case "status":
		want(4)
		ts.Check(r.srv.SetStatus(id(args[0]), args[1], args[2], args[3]))
	case "delete":
		want(3)
		ts.Check(r.srv.DeletePackage(id(args[0]), args[1], args[2]))
	case "files":
		want(4)
		pkgs, err := r.srv.Store().Packages(id(args[0]))
		ts.Check(err)
		got := 0
		for _, p := range pkgs {
			if p.Name == args[1] && p.Version == args[2] && p.Status != server.StatusPendingDestruction {
				files, err := r.srv.Store().Files(p.ID)
				ts.Check(err)
				for _, f := range files {
					if f.Status == server.StatusDefault {
						got++
					}
				}
			}
		}
		if got != int(id(args[3])) {
			ts.Fatalf("registry files %s %s %s = %d, want %s", args[0], args[1], args[2], got, args[3])
		}
	case "maxsize":
		want(1)
		r.srv.SetMaxFileSize(id(args[0]))
	case "dups":
		want(2)
		ts.Check(r.srv.SetDuplicates(id(args[0]), args[1] == "allowed", ""))
	case "fault":
		fs := flag.NewFlagSet("fault", flag.ContinueOnError)
		times := fs.Int("times", 1, "")
		status := fs.Int("status", 0, "")
		after := fs.Int64("after", 0, "")
		retryAfter := fs.Duration("retry-after", 0, "")
		delay := fs.Duration("delay", 0, "")
		ts.Check(fs.Parse(args))
		args = fs.Args()
		want(3)
		method := args[0]
		if method == "*" {
			method = ""
		}
		n := *times
		if n > 0 {
			n-- // server.Fault counts 0 as one hit
		}
		ts.Check(r.srv.AddFault(server.Fault{Method: method, Path: args[1], Kind: args[2], Times: n, Status: *status, After: *after, RetryAfter: *retryAfter, Delay: *delay}))
	case "clearfaults":
		r.srv.ClearFaults()
	case "requests":
		want(2)
		counts := r.srv.Counts()
		got := counts[args[0]]
		if args[0] == "total" {
			got = 0
			for _, n := range counts {
				got += n
			}
		}
		if (got == int(id(args[1]))) == neg {
			ts.Fatalf("registry requests %s = %d (all: %s)", args[0], got, formatCounts(counts))
		}
	case "await":
		// Lets a script interrupt a background gpm at a known moment:
		// once its request is in flight (held there by a slow fault).
		want(2)
		n := int(id(args[1]))
		deadline := time.Now().Add(10 * time.Second)
		for r.srv.Counts()[args[0]] < n {
			if time.Now().After(deadline) {
				ts.Fatalf("registry await %s %d: got %d requests within 10s (all: %s)", args[0], n, r.srv.Counts()[args[0]], formatCounts(r.srv.Counts()))
			}
			time.Sleep(time.Millisecond)
		}
	case "resetcounts":
		r.srv.ResetCounts()
	case "latency":
		want(1)
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		r.srv.SetLatency(d)
	case "redirects":
		if r.storage == nil {
			ln, err := net.Listen("tcp", "127.0.0.2:0")
			ts.Check(err)
			r.storage = &http.Server{Handler: r.srv.ObjectStorageHandler()}
			go r.storage.Serve(ln)
			ts.Defer(func() { r.storage.Close() })
			r.srv.EnableRedirects("http://" + ln.Addr().String())
		}
	case "leaks":
		want(1)
		got := len(r.srv.CredentialLeaks())
		if (got == int(id(args[0]))) == neg {
			ts.Fatalf("object storage saw %d credentials: %v", got, r.srv.CredentialLeaks())
		}
	default:
		ts.Fatalf("unknown registry subcommand %q", sub)
	}
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, m[k])
	}
	return strings.TrimSpace(b.String())
}
