package fetch

import (
	"errors"
	"fmt"
	"path/filepath"
	"syscall"

	"github.com/gpmtool/gpm/internal/registry"
)

// Sentinel errors that callers branch on with errors.Is.
var (
	// ErrChecksumMismatch matches a download whose SHA-256 differs from the
	// lock. It is the registry's sentinel, so one errors.Is test covers both
	// packages.
	ErrChecksumMismatch = registry.ErrChecksumMismatch
	// ErrSizeMismatch matches a download whose size differs from the lock.
	ErrSizeMismatch = registry.ErrSizeMismatch
	// ErrIntegrity matches every integrity failure: a checksum or size
	// mismatch while installing, and tampered, missing or unexpected vendor
	// files found by Verify.
	ErrIntegrity = errors.New("integrity check failed")
	// ErrOffline matches an install that needs the network while offline.
	ErrOffline = errors.New("network access needed in offline mode")
	// ErrUnsafeArchive matches an archive that extraction refused: an entry
	// that would land outside the package directory, a link that escapes it,
	// a device, a duplicate, or more data than the extraction limits allow.
	ErrUnsafeArchive = errors.New("unsafe archive")
	// errConflict matches a vendor directory entry in gpm's way that gpm will
	// not replace, such as a file or symlink where a package directory goes.
	errConflict = errors.New("vendor directory conflict")
)

// PackageError is a failure to install one package. Every error Stage
// or Place returns about a package is a *PackageError; its message starts with
// "name@version: ".
type PackageError struct {
	Name    string // local package name
	Version string // locked version
	Err     error
}

// Error implements error.
func (e *PackageError) Error() string {
	return e.Name + "@" + e.Version + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *PackageError) Unwrap() error { return e.Err }

// mismatchError is a download that did not match the lock. It answers
// errors.Is for the registry's mismatch sentinels and ErrIntegrity, and
// errors.As for *registry.IntegrityError, but does not unwrap to it, so the
// generic hint of the registry is replaced by this package's, which can name
// the command to run.
type mismatchError struct {
	name string // local package name, for the hint
	ie   *registry.IntegrityError
}

func (e *mismatchError) Error() string {
	ie := e.ie
	if ie.WantSize >= 0 && ie.GotSize != ie.WantSize {
		if ie.GotSize > ie.WantSize {
			return fmt.Sprintf("file %q: size mismatch: the lock says %d bytes, the registry served more", ie.Ref.File, ie.WantSize)
		}
		return fmt.Sprintf("file %q: size mismatch: the lock says %d bytes, the registry served %d", ie.Ref.File, ie.WantSize, ie.GotSize)
	}
	return fmt.Sprintf("file %q: checksum mismatch\n\tlocked:     sha256 %s\n\tdownloaded: sha256 %s\nsecurity error: the registry served different bytes than the lock records; nothing was installed",
		ie.Ref.File, ie.WantSHA256, ie.GotSHA256)
}

func (e *mismatchError) Is(target error) bool {
	return target == ErrIntegrity || e.ie.Is(target)
}

func (e *mismatchError) As(target any) bool {
	if p, ok := target.(**registry.IntegrityError); ok {
		*p = e.ie
		return true
	}
	return false
}

// Hints says what a mismatch usually means and what to do about it.
func (e *mismatchError) Hints() []string {
	return []string{
		"the likely cause is that the file was published again under the same version: GitLab keeps both uploads and serves the newest; it may also have been tampered with",
		fmt.Sprintf("check that the new file is trustworthy (ask its publisher), then run 'gpm update %s'", e.name),
	}
}

// offlineError is a file that is needed but not in the cache while offline.
type offlineError struct {
	file    string
	noCache bool
	missing int // files missing in the whole install
}

func (e *offlineError) Error() string {
	where := "is not in the cache"
	if e.noCache {
		where = "must be downloaded (no cache is available)"
	}
	return fmt.Sprintf("file %q %s: %v", e.file, where, ErrOffline)
}

func (e *offlineError) Unwrap() error { return ErrOffline }

func (e *offlineError) Hints() []string {
	n := "1 file"
	if e.missing != 1 {
		n = fmt.Sprintf("%d files", e.missing)
	}
	return []string{fmt.Sprintf("%s must be downloaded; run 'gpm install' without --offline or --frozen once, with network access, to fill the cache", n)}
}

// archiveError is an archive entry that extraction refused. It matches
// ErrUnsafeArchive.
type archiveError struct {
	Archive string // the archive's file name in the package
	Entry   string // the entry's name as stored in the archive; "" for the archive as a whole
	Reason  string // what is wrong, e.g. "path escapes the package directory"
}

// Error implements error.
func (e *archiveError) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("archive %q: %s", e.Archive, e.Reason)
	}
	return fmt.Sprintf("archive %q: entry %q: %s", e.Archive, e.Entry, e.Reason)
}

// Is matches ErrUnsafeArchive.
func (e *archiveError) Is(target error) bool { return target == ErrUnsafeArchive }

// Hints says what to do about a refused archive.
func (e *archiveError) Hints() []string {
	return []string{"nothing was installed; the archive may be malicious or broken: ask its publisher, or set extract = false for the package to place the archive as a file"}
}

// errorPrivilegeNotHeld is Windows' ERROR_PRIVILEGE_NOT_HELD: creating a
// symlink needs SeCreateSymbolicLinkPrivilege, which a normal user has only
// with Developer Mode on.
const errorPrivilegeNotHeld = syscall.Errno(1314)

// symlinkError is the error for an archive's symlink that the system
// refused to create (err, from os.Root.Symlink) on the system goos. Windows
// refusing symlinks to a user without the privilege is a limit of the
// platform, not a sign of a malicious archive: it is a plain failure with
// a hint. Anything else stays a refused archive.
func symlinkError(goos, archive, entry string, err error) error {
	if symlinkNeedsPrivilege(goos, err) {
		return &symlinkPrivilegeError{Archive: archive, Entry: entry, Err: err}
	}
	cause := err
	if u := errors.Unwrap(err); u != nil {
		cause = u
	}
	return &archiveError{Archive: archive, Entry: entry, Reason: fmt.Sprintf("cannot create symlink: %v", cause)}
}

// symlinkNeedsPrivilege reports whether err is Windows refusing a symlink
// for want of the privilege to create one. The error is a syscall.Errno, or
// an NT status that converts to one.
func symlinkNeedsPrivilege(goos string, err error) bool {
	if goos != "windows" {
		return false
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno == errorPrivilegeNotHeld
	}
	var nt interface{ Errno() syscall.Errno }
	return errors.As(err, &nt) && nt.Errno() == errorPrivilegeNotHeld
}

// symlinkPrivilegeError is an archive's symlink that Windows would not let
// this user create. It is not ErrUnsafeArchive: the archive is fine.
type symlinkPrivilegeError struct {
	Archive string // the archive's file name in the package
	Entry   string // the symlink's name as stored in the archive
	Err     error
}

// Error implements error.
func (e *symlinkPrivilegeError) Error() string {
	return fmt.Sprintf("archive %q: entry %q: cannot create symlink: Windows lets only administrators, or every user with Developer Mode on, create symlinks", e.Archive, e.Entry)
}

// Unwrap returns the system's error.
func (e *symlinkPrivilegeError) Unwrap() error { return e.Err }

// Hints says how to get the symlinks created.
func (e *symlinkPrivilegeError) Hints() []string {
	return []string{
		"nothing was installed; the archive is not at fault: this is a limit of Windows",
		"turn on Developer Mode (Settings > System > For developers) or run gpm from an elevated prompt, then run 'gpm install' again; or ask the package's publisher for an archive without symlinks",
	}
}

// cacheBlobError is a cache blob whose content no longer matches the lock,
// found while it was copied or extracted into a staging directory. Stage
// normally discards the blob and downloads it again; this error leaves
// Stage only when it cannot: under --offline, or when a blob downloaded
// and verified in this very run changed before it was staged. It matches
// ErrIntegrity and the registry's mismatch sentinel for what differs.
type cacheBlobError struct {
	file     string // the file's name in the package
	path     string // the blob that was read
	wantSHA  string
	wantSize int64
	gotSHA   string // of what was read, at most wantSize+1 bytes
	gotSize  int64  // wantSize+1 means larger than locked

	b       *blob // the install's blob, to repair
	fresh   bool  // what was read had been downloaded and verified in this run
	offline bool  // not downloaded again: --offline
}

func (e *cacheBlobError) Error() string {
	got := fmt.Sprintf("sha256 %s, %d bytes", e.gotSHA, e.gotSize)
	if e.gotSize > e.wantSize {
		got = fmt.Sprintf("more than %d bytes", e.wantSize)
	}
	msg := fmt.Sprintf("file %q: cache blob %s does not match packages.lock\n\tlocked: sha256 %s, %d bytes\n\tcached: %s",
		e.file, e.path, e.wantSHA, e.wantSize, got)
	switch {
	case e.fresh:
		return msg + "\nsecurity error: the blob changed after gpm downloaded and verified it in this run; nothing was installed"
	case e.offline:
		return msg + "\nthe blob was discarded and cannot be downloaded again with --offline; nothing was installed"
	}
	return msg
}

func (e *cacheBlobError) Is(target error) bool {
	switch target {
	case ErrIntegrity:
		return true
	case ErrSizeMismatch:
		return e.gotSize != e.wantSize
	case ErrChecksumMismatch:
		return e.gotSize == e.wantSize
	}
	return false
}

// Hints says what to do about a cache blob that could not be repaired.
func (e *cacheBlobError) Hints() []string {
	if e.fresh {
		return []string{fmt.Sprintf("something writes to the cache while gpm runs: check who can write to %s (set GPM_CACHE to a cache only you can write)", filepath.Dir(e.path))}
	}
	return []string{
		"run 'gpm install' without --offline or --frozen once, with network access, to download the file again",
		"a cache blob changes only if something other than gpm wrote to the cache: check who can write to it, or where a CI cache restored it from",
	}
}
