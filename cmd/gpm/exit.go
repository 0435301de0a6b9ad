package main

import (
	"errors"
	"strings"

	"github.com/gpmtool/gpm/internal/fetch"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/registry"
	"github.com/gpmtool/gpm/internal/resolve"
)

// Exit codes, as DESIGN.md specifies them. Scripts depend on these numbers.
const (
	exitOK        = 0
	exitFailure   = 1 // network, server, file system
	exitUsage     = 2 // usage error, invalid packages.toml or packages.lock
	exitLock      = 3 // lock out of date under --locked, network needed under --offline
	exitIntegrity = 4 // checksum or size mismatch, tampered or missing vendor files
	exitDenied    = 5 // 401, 403, or a 404 that hides a project
	exitNotFound  = 6 // no such package, version or file; nothing satisfies a constraint
	// exitInterrupted is 128+SIGINT, what a shell reports for a process
	// that Ctrl-C ended: gpm stopped on Ctrl-C (or SIGTERM) and left
	// nothing half-written.
	exitInterrupted = 130
)

// Error kinds that belong to the command layer itself.
var (
	errUsage  = errors.New("usage error")
	errDenied = errors.New("access denied")
	// errInterrupted replaces the context error of a command stopped by
	// Ctrl-C or SIGTERM; it exits 130.
	errInterrupted = errors.New("interrupted")
	// errHiddenProject is matched by GitLab's project-level 404, which it
	// also answers when the project exists but is hidden from the caller.
	errHiddenProject = errors.New("project not found or hidden")
)

// exitCodes is the one mapping from error kinds to exit codes. The first
// entry whose error is in the chain decides; order matters where an error can
// carry two kinds (a denied download is also "not found" to GitLab).
var exitCodes = []struct {
	kind error
	code int
}{
	{errInterrupted, exitInterrupted},
	{errHiddenProject, exitDenied},
	{errUsage, exitUsage},
	{manifest.ErrInvalid, exitUsage},
	{lock.ErrInvalid, exitUsage},
	{lock.ErrStale, exitLock},
	{errOffline, exitLock},
	{fetch.ErrOffline, exitLock},
	{registry.ErrChecksumMismatch, exitIntegrity},
	{registry.ErrSizeMismatch, exitIntegrity},
	{fetch.ErrIntegrity, exitIntegrity},
	{fetch.ErrUnsafeArchive, exitIntegrity},
	{registry.ErrUnauthorized, exitDenied},
	{errDenied, exitDenied},
	{resolve.ErrNoMatch, exitNotFound},
	{registry.ErrNotFound, exitNotFound},
}

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	for _, e := range exitCodes {
		if errors.Is(err, e.kind) || e.kind == errHiddenProject && hiddenProject(err) {
			return e.code
		}
	}
	return exitFailure
}

// hiddenProject reports a 404 about the project itself rather than about a
// package or file in it: GitLab answers "404 Project Not Found" on its list
// APIs both for projects that do not exist and for projects the caller may
// not see, so it is an access problem until proven otherwise.
func hiddenProject(err error) bool {
	var he *registry.HTTPError
	for _, e := range flatten(err) {
		if errors.As(e, &he) && he.Status == 404 && !he.Storage && hiddenMessage(he.Message) {
			return true
		}
	}
	return false
}

// hiddenMessage reports GitLab's project- and group-level 404 messages.
func hiddenMessage(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "project not found") || strings.Contains(msg, "group not found")
}

// flatten returns err and, for joined errors, each of its parts, so that
// one denied package among several failures still decides the exit code.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// usageError returns an error that exits with code 2.
func usageError(format string, args ...any) error {
	return &kindError{kind: errUsage, msg: sprintf(format, args...)}
}

// kindError is an error of a given kind with its own message.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }
