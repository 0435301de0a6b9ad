// Package fetch installs locked packages into a vendor directory: a
// content-addressed cache shared by all projects, parallel downloads
// verified against the lock's sizes and SHA-256s, staged placement that
// swaps each package directory in one rename (two on Windows, see swapDir),
// a state file that makes a
// repeated install a stat-only no-op, removal of packages no longer locked,
// safe archive extraction, and verification of what is installed.
//
// Layout of a vendor directory DIR:
//
//	DIR/NAME/...        one directory per locked package
//	DIR/.gpm/lock       cross-process lock (LockDir; RLockDir for readers)
//	DIR/.gpm/state      JSON record of what gpm placed: per package, the lock
//	                    identity and every path with its size, mtime, sha256, mode
//	DIR/.gpm/tmp-*      staging and download temporaries of a running install
//	DIR/.gpm/old-NAME   a package directory between swapDir's two renames (Windows)
//
// gpm only ever removes what the state says it placed and what is still
// unchanged; other files in a package directory are carried over to its new
// version (see carryOver), and nothing outside DIR/NAME and DIR/.gpm is
// touched but the empty DIR/.gpm-probe-* directories that check for write
// permission (see checkPlaceable), which only a crash leaves behind.
package fetch
