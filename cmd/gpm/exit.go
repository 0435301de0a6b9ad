package main

import (
	"errors"
	"fmt"

	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/project"
	"github.com/gpmtool/gpm/internal/publish"
	"github.com/gpmtool/gpm/internal/registry"
)

// Exit codes, as DESIGN.md specifies them. Scripts depend on these numbers.
const (
	exitOK        = 0
	exitFailure   = 1 // network, server, file system
	exitUsage     = 2 // usage error, invalid packages.toml or packages.lock
	exitLock      = 3 // lock out of date under --locked, network needed under --offline
	exitIntegrity = 4 // checksum or size mismatch, tampered or missing vendor files
	exitDenied    = 5 // 401, 403, a 404 that hides a project, or no credential where one is needed
	exitNotFound  = 6 // no such package, version or file; nothing satisfies a constraint
	exitOutdated  = 7 // gpm outdated --exit-code found a newer version
	// exitInterrupted is 128+SIGINT, what a shell reports for a process
	// that Ctrl-C ended: gpm stopped on Ctrl-C (or SIGTERM) and left
	// nothing half-written.
	exitInterrupted = 130
)

// Error kinds that belong to the command layer itself.
var (
	errUsage = errors.New("usage error")
	// errInterrupted replaces the context error of a command stopped by
	// Ctrl-C or SIGTERM; it exits 130.
	errInterrupted = errors.New("interrupted")
	// errOutdated is gpm outdated --exit-code finding a newer version; it
	// exits 7.
	errOutdated = errors.New("newer version available")
)

// exitCodes is the one mapping from error kinds to exit codes. The first
// entry whose error is in the chain decides; order matters where an error can
// carry two kinds (a denied download is also "not found" to GitLab).
var exitCodes = []struct {
	kind error
	code int
}{
	{errInterrupted, exitInterrupted},
	{errOutdated, exitOutdated},
	{registry.ErrHiddenProject, exitDenied},
	{errUsage, exitUsage},
	{manifest.ErrInvalid, exitUsage},
	{lock.ErrInvalid, exitUsage},
	{registry.ErrSetting, exitUsage},
	{publish.ErrInvalid, exitUsage},
	{project.ErrOutsideConstraint, exitUsage},
	{project.ErrPlatform, exitUsage},
	{lock.ErrStale, exitLock},
	{project.ErrOffline, exitLock},
	{registry.ErrChecksumMismatch, exitIntegrity},
	{registry.ErrSizeMismatch, exitIntegrity},
	{project.ErrIntegrity, exitIntegrity},
	{project.ErrUnsafeArchive, exitIntegrity},
	{registry.ErrUnauthorized, exitDenied},
	{registry.ErrNoCredential, exitDenied},
	{project.ErrNoMatch, exitNotFound},
	{registry.ErrNotFound, exitNotFound},
}

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if es, ok := errors.AsType[*exitStatus](err); ok {
		return es.code
	}
	for _, e := range exitCodes {
		if errors.Is(err, e.kind) {
			return e.code
		}
	}
	return exitFailure
}

// usageError returns an error that exits with code 2.
func usageError(format string, args ...any) error {
	return &kindError{kind: errUsage, msg: fmt.Sprintf(format, args...)}
}

// kindError is an error of a given kind with its own message.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }
