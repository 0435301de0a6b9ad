// Package project is gpm's consumer engine, as cmd/go's modload is the go
// command's: it loads packages.toml and packages.lock, plans what must be
// resolved, resolves it, fetches everything, writes the lock and places the
// packages in the vendor directory. The add, remove and update transactions,
// lock diffs, remote verification and the outdated report live here too, so
// that the command layer only parses flags and prints what an engine returns.
//
// Every entry point takes a context first and reports through the Env it was
// loaded with; none of them prints.
package project

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/platform"
	"github.com/gpmtool/gpm/internal/registry"
)

// Env is what the engine needs from the process around it: the
// environment, --jobs, the user agent, and where warnings and -v logs go.
type Env = registry.Env

// Project is a loaded manifest with its lock and vendor directory.
type Project struct {
	Manifest     *manifest.Manifest
	ManifestPath string
	LockPath     string
	// Lock is the lock as read; nil when there is no lock file yet.
	Lock *lock.File
	// Dir is the vendor directory.
	Dir string
	// Platform is the platform installed for ("linux-amd64"): $GPM_PLATFORM
	// (as Env.Getenv reads it) or the running one.
	Platform string

	env     Env
	clients *clients
	// lockData is what readLock last parsed into lockParsed: a command
	// reads the lock when it loads the project and again under the vendor
	// directory's lock, and parsing a lock of 1,000 packages takes tens of
	// milliseconds, most of a no-op install.
	lockData   []byte
	lockParsed *lock.File
	// fallbackWarned makes the warning about falling back to the public
	// instance come once per run, across manifest reloads.
	fallbackWarned sync.Once
}

// LockPath returns the lock file beside a manifest: packages.toml gives
// packages.lock, tools.toml gives tools.lock.
func LockPath(manifestPath string) string {
	return strings.TrimSuffix(manifestPath, filepath.Ext(manifestPath)) + ".lock"
}

// Load reads the manifest at manifestPath and the lock beside it, if any. A
// missing manifest is an error matching fs.ErrNotExist; a missing lock is
// not an error.
func Load(manifestPath string, env Env) (*Project, error) {
	m, err := manifest.Load(manifestPath)
	if err != nil {
		return nil, err
	}
	if env.Jobs < 1 {
		env.Jobs = 8
	}
	if env.Slots == nil {
		// --jobs bounds the listings in flight of the whole command, to
		// every registry, and apart from them its downloads.
		env.Slots = registry.NewLimiter(env.Jobs)
	}
	plat, err := platform.Current(env.Getenv)
	if err != nil {
		return nil, hint.Wrap(err, "write the platform as OS-ARCH in Go's names, as in linux-amd64 or darwin-arm64")
	}
	p := &Project{
		Manifest:     m,
		ManifestPath: manifestPath,
		LockPath:     LockPath(manifestPath),
		Dir:          filepath.Join(filepath.Dir(manifestPath), m.Dir),
		Platform:     plat.String(),
		env:          env,
	}
	p.clients = newClients(p)
	if err := p.readLock(); err != nil {
		return nil, err
	}
	return p, nil
}

// parseLock is lock.Parse; tests count its calls.
var parseLock = lock.Parse

// readLock (re)reads the lock; a missing lock leaves p.Lock nil. Bytes
// that readLock parsed before are not parsed again (nothing changes a
// parsed lock.File: p.Lock is replaced, never edited).
func (p *Project) readLock() error {
	data, err := os.ReadFile(p.LockPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.Lock = nil
		return nil
	case err != nil:
		return err
	}
	if p.lockParsed == nil || !bytes.Equal(data, p.lockData) {
		l, err := parseLock(p.LockPath, data)
		if err != nil {
			return err
		}
		p.lockData, p.lockParsed = data, l
	}
	p.Lock = p.lockParsed
	return nil
}

// reloadManifest re-reads the manifest after an edit.
func (p *Project) reloadManifest() error {
	m, err := manifest.Load(p.ManifestPath)
	if err != nil {
		return err
	}
	p.Manifest = m
	p.clients = newClients(p)
	return nil
}

// Stale lists the lock entries that no longer match the manifest, with the
// reason for each; nil when the lock is fresh or missing.
func (p *Project) Stale() []lock.Stale {
	if p.Lock == nil {
		return nil
	}
	var se *lock.StaleError
	if err := lock.Check(p.Manifest, p.Lock); errors.As(err, &se) {
		return se.Entries
	}
	return nil
}

// kindError is an error of a given kind (a sentinel callers branch on)
// with its own message.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func kindErrorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
