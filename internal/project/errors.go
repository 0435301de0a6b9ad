package project

import (
	"github.com/gpmtool/gpm/internal/fetch"
	"github.com/gpmtool/gpm/internal/resolve"
)

// The engine's results and error kinds are fetch's and resolve's own,
// re-exported (as package os re-exports io/fs) so that callers of the
// engine need not import the layers below it.
var (
	// ErrOffline matches work that needs the network under --offline.
	ErrOffline = fetch.ErrOffline
	// ErrIntegrity matches a vendor tree or registry that no longer matches
	// the lock: tampered, missing or re-published files.
	ErrIntegrity = fetch.ErrIntegrity
	// ErrUnsafeArchive matches an archive that tries to write outside its
	// package directory.
	ErrUnsafeArchive = fetch.ErrUnsafeArchive
	// ErrNoMatch matches a constraint or glob that nothing satisfies.
	ErrNoMatch = resolve.ErrNoMatch
)

type (
	// Report says what an install placed, downloaded and removed.
	Report = fetch.Report
	// PackageReport is one package of a Report.
	PackageReport = fetch.PackageReport
	// Event is one step of an install's progress.
	Event = fetch.Event
	// VerifyReport is the result of rehashing the vendor directory.
	VerifyReport = fetch.VerifyReport
	// VerifyPackage is one package of a VerifyReport.
	VerifyPackage = fetch.VerifyPackage
)

// Event kinds and package actions, as fetch defines them.
const (
	FileStart      = fetch.FileStart
	FileProgress   = fetch.FileProgress
	FileDone       = fetch.FileDone
	PackagePlaced  = fetch.PackagePlaced
	PackageRemoved = fetch.PackageRemoved

	Removed   = fetch.Removed
	PackageOK = fetch.PackageOK
)
