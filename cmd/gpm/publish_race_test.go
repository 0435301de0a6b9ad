package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gpmtool/gpm/internal/server"
)

// Racing publishers: CI matrix jobs, or a re-run job and the original,
// publish into one version at the same moment. Two real gpm publish
// processes run against the in-repo registry, which, like GitLab, fails
// with 500 an upload that races another one to create a new version. A
// gate in front of the registry holds requests so that each round forces
// an interleaving in which neither publisher's first look at the version
// sees the other's file. In every mode each publisher's first listing is
// answered only once both have asked; then:
//
//   - "together": each publisher's first upload waits until both have sent
//     one (so both have looked): they race to create the version, one gets
//     GitLab's 500 and retries;
//   - "serial": the first uploads wait in the same way; then the first
//     publisher's goes ahead, and the second publisher's uploads wait until
//     the first publisher has exited: both uploads succeed, and only the
//     second publisher can see both files;
//   - "free": no further gate.
//
// No request is held for a publisher that has exited, so a round cannot
// hang.

// raceTokens are the two publishers, one token each, so that the gate can
// tell their requests apart.
var raceTokens = [2]string{"alice-token", "bob-token"}

// raceRound is the state of the gate during one round.
type raceRound struct {
	mode       string
	listed     map[string]bool
	bothListed chan struct{}
	put        map[string]bool
	bothPut    chan struct{}
	firstPut   string // the first publisher to upload, in serial mode
	exited     map[string]chan struct{}
}

// raceGate holds the requests of the current round as its mode says.
type raceGate struct {
	next  http.Handler
	mu    sync.Mutex
	round *raceRound
}

func (g *raceGate) start(mode string) *raceRound {
	r := &raceRound{mode: mode, listed: map[string]bool{}, bothListed: make(chan struct{}),
		put: map[string]bool{}, bothPut: make(chan struct{}), exited: map[string]chan struct{}{}}
	for _, tok := range raceTokens {
		r.exited[tok] = make(chan struct{})
	}
	g.mu.Lock()
	g.round = r
	g.mu.Unlock()
	return r
}

func (g *raceGate) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	who := req.Header.Get("Private-Token")
	g.mu.Lock()
	r := g.round
	if r == nil || r.exited[who] == nil {
		g.mu.Unlock()
		g.next.ServeHTTP(w, req)
		return
	}
	other := raceTokens[0]
	if who == raceTokens[0] {
		other = raceTokens[1]
	}
	var rendezvous chan struct{}
	switch {
	case req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/projects/1/packages") && !r.listed[who]:
		r.listed[who] = true
		if r.listed[other] {
			close(r.bothListed)
		}
		rendezvous = r.bothListed
	case req.Method == http.MethodPut && r.mode != "free" && !r.put[who]:
		// A first upload: its publisher has looked at the version, and
		// nobody uploads before both have looked.
		r.put[who] = true
		if r.put[other] {
			close(r.bothPut)
		} else {
			r.firstPut = who
		}
		rendezvous = r.bothPut
	}
	first := r.firstPut
	serial := r.mode == "serial" && req.Method == http.MethodPut && first != "" && first != who
	g.mu.Unlock()
	if rendezvous != nil {
		select {
		case <-rendezvous:
		case <-r.exited[other]:
		}
	}
	if serial {
		<-r.exited[first]
	}
	g.next.ServeHTTP(w, req)
}

// raceServer is a registry with project 1 and two developers, behind a
// gate.
func raceServer(t *testing.T) (*server.Server, *raceGate, string) {
	t.Helper()
	srv := server.New(server.Options{})
	if err := srv.AddProject(server.Project{ID: 1, Path: "acme/tools", Visibility: server.Private}); err != nil {
		t.Fatal(err)
	}
	for i, user := range []string{"alice", "bob"} {
		srv.AddUser(user)
		srv.AddMember(1, user, server.Developer)
		srv.AddToken(server.Token{Value: raceTokens[i], User: user})
	}
	gate := &raceGate{next: srv}
	hs := httptest.NewServer(gate)
	t.Cleanup(hs.Close)
	return srv, gate, hs.URL
}

// storedFiles returns the SHA-256 of every live file called name in the
// version, in upload order.
func storedFiles(t *testing.T, srv *server.Server, version, name string) []string {
	t.Helper()
	pkgs, err := srv.Store().Packages(1)
	if err != nil {
		t.Fatal(err)
	}
	var shas []string
	for _, p := range pkgs {
		if p.Name != "tool" || p.Version != version || p.Status == server.StatusPendingDestruction {
			continue
		}
		files, err := srv.Store().Files(p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.FileName == name && f.Status != server.StatusPendingDestruction {
				shas = append(shas, f.SHA256)
			}
		}
	}
	return shas
}

// raceResult is one round: how each publisher ended and what the version
// holds.
type raceResult struct {
	procs [2]gpmProc
	shas  []string // of tool.bin, in upload order
}

func (r raceResult) String() string {
	var b strings.Builder
	for i, p := range r.procs {
		fmt.Fprintf(&b, "publisher %d: exit %d\n%s", i, p.code, p.stderr)
	}
	fmt.Fprintf(&b, "the version holds tool.bin with sha256 %v", r.shas)
	return b.String()
}

// raceRoundRun runs one round: publisher i publishes contents[i] as
// tool.bin into version, both at once.
func raceRoundRun(t *testing.T, srv *server.Server, gate *raceGate, url, mode, version string, contents [2]string) raceResult {
	t.Helper()
	r := gate.start(mode)
	var res raceResult
	var wg sync.WaitGroup
	for i, tok := range raceTokens {
		dir := filepath.Join(t.TempDir(), "job")
		writeFiles(t, dir, map[string]string{"dist/tool.bin": contents[i]})
		env := hermeticEnv(t, url, filepath.Join(dir, "cache"), "GPM_TOKEN="+tok)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(r.exited[tok])
			res.procs[i] = runGPM(t, dir, env, "publish", "--project", "1", "--package", "tool", "--version", version, "dist/tool.bin")
		}()
	}
	wg.Wait()
	res.shas = storedFiles(t, srv, version, "tool.bin")
	return res
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

var raceModes = []string{"together", "serial", "free"}

// Two racing publishers of different content never both exit 0 with two
// files left: whichever can see both files fails, naming both SHA-256s and
// the group setting that forbids duplicates.
func TestPublishRaceDifferentContent(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns dozens of gpm processes")
	}
	srv, gate, url := raceServer(t)
	contents := [2]string{"build from job A\n", "build from job B\n"}
	for round := range 12 {
		mode := raceModes[round%len(raceModes)]
		res := raceRoundRun(t, srv, gate, url, mode, fmt.Sprintf("1.0.%d", round), contents)
		distinct := map[string]bool{}
		for _, s := range res.shas {
			distinct[s] = true
		}
		for _, p := range res.procs {
			if p.code != 0 && p.code != 1 {
				t.Errorf("round %d (%s): exit %d, want 0 or 1\n%v", round, mode, p.code, res)
			}
		}
		switch {
		case len(res.shas) == 0:
			t.Errorf("round %d (%s): nothing was published\n%v", round, mode, res)
		case res.procs[0].code == 0 && res.procs[1].code == 0:
			t.Errorf("round %d (%s): both publishers exited 0\n%v", round, mode, res)
		case len(distinct) > 1:
			// Someone must have said so, naming both files and the fix.
			told := false
			for _, p := range res.procs {
				if p.code == 1 && strings.Contains(p.stderr, sha256Hex(contents[0])) && strings.Contains(p.stderr, sha256Hex(contents[1])) &&
					strings.Contains(p.stderr, "Duplicate packages") {
					told = true
				}
			}
			if !told {
				t.Errorf("round %d (%s): two different files under one name, and no publisher failed naming both\n%v", round, mode, res)
			}
		}
	}
}

// Two racing publishers of the same file (a re-run job racing the
// original) both succeed and leave copies of that file only; a second copy,
// which only a group that forbids duplicates can prevent, is reported.
// With duplicates forbidden, exactly one copy remains.
func TestPublishRaceSameContent(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns dozens of gpm processes")
	}
	srv, gate, url := raceServer(t)
	same := [2]string{"the one build\n", "the one build\n"}
	check := func(round int, mode string, res raceResult, wantOne bool) {
		t.Helper()
		for _, p := range res.procs {
			if p.code != 0 {
				t.Errorf("round %d (%s): exit %d, want 0\n%v", round, mode, p.code, res)
			}
		}
		for _, s := range res.shas {
			if s != sha256Hex(same[0]) {
				t.Errorf("round %d (%s): the version holds a file with sha256 %s\n%v", round, mode, s, res)
			}
		}
		switch {
		case len(res.shas) == 0:
			t.Errorf("round %d (%s): nothing was published\n%v", round, mode, res)
		case len(res.shas) > 1 && wantOne:
			t.Errorf("round %d (%s): %d copies with duplicates forbidden\n%v", round, mode, len(res.shas), res)
		case len(res.shas) > 1 && !strings.Contains(res.procs[0].stderr+res.procs[1].stderr, "identical copies"):
			t.Errorf("round %d (%s): %d copies, and no publisher said so\n%v", round, mode, len(res.shas), res)
		}
	}
	for round := range 9 {
		mode := raceModes[round%len(raceModes)]
		check(round, mode, raceRoundRun(t, srv, gate, url, mode, fmt.Sprintf("1.0.%d", round), same), false)
	}
	if err := srv.SetDuplicates(1, false, ""); err != nil {
		t.Fatal(err)
	}
	for round := range 6 {
		mode := raceModes[round%len(raceModes)]
		check(round, mode+", duplicates forbidden", raceRoundRun(t, srv, gate, url, mode, fmt.Sprintf("2.0.%d", round), same), true)
	}
}
