package fetch

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Carrying user files over.
//
// A package directory may hold files gpm did not place: a config file the
// user added, a build output. When the package is updated, the new
// directory is staged from scratch, so such files are carried over into it
// before the swap, as hard links (copies where the file system has none),
// at the same path. A file gpm placed but the user changed since (its size
// and modification time, and then its content, differ from the state) is
// the user's too.
//
// When the new version places something at the same path, the new file
// wins and the user's file is kept beside it as PATH.gpm-user (with a
// number when that is taken too), and a warning names both. If the user's
// file has exactly the new file's content, it is simply dropped: nothing is
// lost. An empty user directory in the way of a new file is dropped.

// carryOver moves the user's files of the old package directory oldDir into
// the staged directory. old is the state of the old package, nil when
// there is none (then every file there is the user's).
func (in *installer) carryOver(ctx context.Context, s *stager, stagedDir, oldDir string, old *pkgState) ([]MovedFile, error) {
	known := map[string]*placed{}
	implicit := map[string]bool{}
	if old != nil {
		for i := range old.Files {
			f := &old.Files[i]
			known[f.Path] = f
			for q := range prefixes(f.Path) {
				implicit[q] = true
			}
		}
	}
	oldRoot, err := os.OpenRoot(oldDir)
	if err != nil {
		return nil, err
	}
	defer oldRoot.Close()
	c := &carrier{s: s, stagedDir: stagedDir, oldDir: oldDir, oldRoot: oldRoot, aside: map[string]string{}, warnf: in.warnf}
	err = filepath.WalkDir(oldDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(oldDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		k := known[rel]
		if !strings.Contains(rel, "/") && isProbe(p, d) {
			return filepath.SkipDir // left by a crashed gpm, not the user's
		}
		if d.IsDir() {
			if k != nil && k.Type == typeDir || implicit[rel] {
				return nil // gpm's own directory; user files inside are carried one by one
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return c.dir(rel, fi.Mode().Perm())
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if k != nil && ownedFile(oldRoot, k, fi) {
			return nil // gpm's file: replaced by the new version
		}
		return c.file(rel, fi)
	})
	if err != nil {
		return nil, fmt.Errorf("keeping your files in %s: %w", oldDir, err)
	}
	return c.moved, nil
}

// carrier carries one package's user files.
type carrier struct {
	s         *stager
	stagedDir string
	oldDir    string
	oldRoot   *os.Root
	aside     map[string]string // conflicting path -> its new name
	moved     []MovedFile
	warnf     func(string, ...any)
}

func isDirKind(k entryKind) bool { return k == kindDir || k == kindImplicitDir }

// conflict returns the first path, rel or one of its parents, where the
// staged tree has something a file at rel cannot coexist with; "" if none.
func (c *carrier) conflict(rel string, isDir bool) string {
	for q := range prefixes(rel) {
		if k := c.s.entries[q]; k != 0 && !isDirKind(k) {
			return q
		}
	}
	if k := c.s.entries[rel]; k != 0 && !(isDir && isDirKind(k)) {
		return rel
	}
	return ""
}

// mark records a carried path so later carried files see it.
func (c *carrier) mark(rel string, k entryKind) {
	for q := range prefixes(rel) {
		if c.s.entries[q] == 0 {
			c.s.entries[q] = kindImplicitDir
		}
	}
	if c.s.entries[rel] == 0 {
		c.s.entries[rel] = k
	}
}

// asideName returns the name the conflicting path q is kept under.
func (c *carrier) asideName(q string) string {
	if a, ok := c.aside[q]; ok {
		return a
	}
	alt := q + ".gpm-user"
	for i := 2; ; i++ {
		_, err := c.oldRoot.Lstat(alt)
		if c.s.entries[alt] == 0 && isNotExist(err) {
			break
		}
		alt = fmt.Sprintf("%s.gpm-user%d", q, i)
	}
	c.aside[q] = alt
	return alt
}

// dir carries the user's directory rel, keeping its mode (a private
// directory stays private), made writable by its owner so that what is
// inside can be carried too.
func (c *carrier) dir(rel string, perm fs.FileMode) error {
	if c.conflict(rel, true) != "" {
		return nil // an empty directory in the way; files inside are kept aside one by one
	}
	if c.s.entries[rel] != 0 {
		return nil // the new version has this directory: its mode stays
	}
	c.mark(rel, kindDir)
	if err := c.s.root.MkdirAll(rel, 0o777); err != nil {
		return err
	}
	return c.s.root.Chmod(rel, perm|0o700)
}

func (c *carrier) file(rel string, fi fs.FileInfo) error {
	dst := rel
	if q := c.conflict(rel, false); q != "" {
		if q == rel && c.sameAsNew(rel, fi) {
			return nil
		}
		dst = c.asideName(q) + rel[len(q):]
	}
	c.mark(dst, kindFile)
	if d := path.Dir(dst); d != "." {
		if err := c.s.root.MkdirAll(d, 0o777); err != nil {
			return err
		}
	}
	from := filepath.Join(c.oldDir, filepath.FromSlash(rel))
	to := filepath.Join(c.stagedDir, filepath.FromSlash(dst))
	switch {
	case fi.Mode().IsRegular():
		if err := os.Link(from, to); err != nil {
			if err := copyFile(from, to, fi.Mode().Perm()); err != nil {
				return err
			}
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		if err := os.Link(from, to); err != nil {
			t, err := os.Readlink(from)
			if err != nil {
				return err
			}
			if err := os.Symlink(t, to); err != nil {
				return err
			}
		}
	default:
		c.warnf("%s: not keeping %q: not a regular file or symlink", c.oldDir, rel)
		return nil
	}
	if dst != rel {
		c.moved = append(c.moved, MovedFile{From: rel, To: dst})
	}
	return nil
}

// sameAsNew reports whether the user's file at rel has exactly the content
// the new version places there.
func (c *carrier) sameAsNew(rel string, fi fs.FileInfo) bool {
	n := c.s.placed[rel]
	if n == nil || n.Type != typeFile || !fi.Mode().IsRegular() || fi.Size() != n.Size || n.SHA256 == "" {
		return false
	}
	sum, _, err := hashRootFile(c.oldRoot, rel)
	return err == nil && sum == n.SHA256
}

// copyFile copies from to a new file to, with mode perm.
func copyFile(from, to string, perm fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(to)
	}
	return err
}

// swapDir puts the staged directory at target. When target exists the two
// are exchanged in one rename where the system can (Linux renameat2
// RENAME_EXCHANGE, macOS renamex_np RENAME_SWAP), so target is always either
// the old or the new tree. Elsewhere (Windows) it takes two renames: the old
// tree is first renamed to oldTreePath (beside the staged one), then the
// staged tree to target, and the old one is put back if the second rename
// fails. Between the two, target does not exist; should gpm die there, the
// next install puts the old tree back before anything else
// (restoreOldTrees), so no file of the user's in it is lost. It returns the
// path now holding the old tree, to be removed, or "".
func swapDir(staged, target string, exists bool) (oldTree string, err error) {
	if !exists {
		return "", os.Rename(staged, target)
	}
	if exchangeDirs(staged, target) == nil {
		return staged, nil
	}
	oldTree = oldTreePath(filepath.Dir(staged), filepath.Base(target))
	if err := os.Rename(target, oldTree); err != nil {
		return "", err
	}
	if err := os.Rename(staged, target); err != nil {
		if rerr := os.Rename(oldTree, target); rerr != nil {
			return "", fmt.Errorf("%w; the previous version is left in %s", err, oldTree)
		}
		return "", err
	}
	return oldTree, nil
}

// exchangeDirs is exchange, replaced in tests to take the two-rename path.
var exchangeDirs = exchange

// oldTreePrefix names, in DIR/.gpm, a package directory renamed away by
// swapDir's two-rename path: old-NAME.
const oldTreePrefix = "old-"

func oldTreePath(meta, name string) string { return filepath.Join(meta, oldTreePrefix+name) }

// restoreOldTrees repairs what a gpm killed between swapDir's two renames
// left: DIR/.gpm/old-NAME without DIR/NAME is renamed back to DIR/NAME (the
// state still describes it, since the state is written after the swaps);
// next to an existing DIR/NAME it is a swapped-out tree that was not yet
// removed, and is removed.
func restoreOldTrees(dir string, ents []fs.DirEntry) error {
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), oldTreePrefix)
		if !ok || !e.IsDir() || checkPackageName(name) != nil {
			continue
		}
		old := oldTreePath(filepath.Join(dir, metaDir), name)
		target := filepath.Join(dir, name)
		_, err := os.Lstat(target)
		switch {
		case isNotExist(err):
			if err := os.Rename(old, target); err != nil {
				return fmt.Errorf("put %s back at %s: %w", old, target, err)
			}
		case err == nil:
			if err := removeTree(old); err != nil {
				return fmt.Errorf("remove leftover %s: %w", old, err)
			}
		default:
			return err
		}
	}
	return nil
}
