package fetch

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
)

// Commands (lock.Package.Bin).
//
// Each bin path of a package must match exactly one file the package
// placed (after extraction and strip). The file is made executable in the
// staged tree, and once the package is swapped into place its command is
// linked at DIR/.bin/NAME: a relative symlink "../PKG/PATH" on Unix. On
// Windows, where symlinks need privileges, an .exe file is linked as
// NAME.exe, a hard link to it (a copy where the file system has none), and
// any other file gets NAME.cmd, a shim that runs it (see shimText). The links are part of the package's state: a
// missing or wrong link makes the package not in place (install repairs
// it), verify reports it, and prune and remove delete it. A file in .bin
// that gpm did not link is never replaced.

// binDirName is the directory of commands inside the vendor directory.
const binDirName = ".bin"

// resolveBins matches the package's bin paths against the files it placed.
func resolveBins(p *lock.Package, files []placed) (map[string]string, error) {
	if len(p.Bin) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(p.Bin)) {
		pat := p.Bin[name]
		var match []string
		for _, f := range files {
			if f.Type == typeDir {
				continue
			}
			if ok, _ := path.Match(pat, f.Path); ok {
				match = append(match, f.Path)
			}
		}
		if len(match) == 1 {
			// A symlink must lead to a file: the command is run, and made
			// executable, through it.
			if _, err := binFile(files, match[0]); err != nil {
				return nil, hint.Wrap(fmt.Errorf("bin %q: %q %v", name, match[0], err),
					"name a file of the package in bin in packages.toml")
			}
			out[name] = match[0]
			continue
		}
		var have []string
		for _, f := range files {
			if f.Type != typeDir {
				have = append(have, f.Path)
			}
		}
		if len(have) > 20 {
			have = append(have[:20], "...")
		}
		what := "no file"
		if len(match) > 1 {
			what = fmt.Sprintf("%d files (%s)", len(match), strings.Join(match, ", "))
		}
		return nil, hint.Wrap(fmt.Errorf("bin %q: %q matches %s of the installed package; it must match exactly one", name, pat, what),
			fmt.Sprintf("the package has: %s; fix the path in bin in packages.toml", strings.Join(have, ", ")))
	}
	return out, nil
}

// binEntry is the file name of command name in DIR/.bin on goos.
func binEntry(goos, name, target string) string {
	switch {
	case goos != "windows":
		return name
	case isExe(target):
		return name + ".exe"
	}
	return name + ".cmd"
}

func isExe(target string) bool { return strings.HasSuffix(strings.ToLower(target), ".exe") }

// linkTarget is the symlink target of a command: the file relative to
// DIR/.bin.
func linkTarget(pkg, target string) string { return "../" + pkg + "/" + target }

// shimText is the NAME.cmd that runs the package's file on Windows, with
// the arguments passed on; %~dp0 is the shim's own directory. A % in the
// path is doubled: cmd expands %2 or %PATH% even between quotes.
func shimText(pkg, target string) string {
	path := strings.ReplaceAll(pkg+"\\"+strings.ReplaceAll(target, "/", "\\"), "%", "%%")
	return "@\"%~dp0..\\" + path + "\" %*\r\n"
}

// linkOK reports whether DIR/.bin holds the command name of package pkg,
// linking target.
func linkOK(dir, goos, pkg, name, target string) bool {
	p := filepath.Join(dir, binDirName, binEntry(goos, name, target))
	if goos == "windows" && isExe(target) {
		return sameContent(p, filepath.Join(dir, pkg, filepath.FromSlash(target)))
	}
	if goos == "windows" {
		data, err := os.ReadFile(p)
		return err == nil && string(data) == shimText(pkg, target)
	}
	t, err := os.Readlink(p)
	if err != nil || t != linkTarget(pkg, target) {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// linksInPlace reports whether every command of an installed package is
// linked.
func linksInPlace(dir, pkg string, s *pkgState) bool {
	for name, target := range s.Links {
		if !linkOK(dir, runtime.GOOS, pkg, name, target) {
			return false
		}
	}
	return true
}

// ownedLinks returns the .bin entries the state says gpm made.
func (s *state) ownedLinks(goos string) map[string]string {
	out := map[string]string{}
	for pkg, ps := range s.Packages {
		for name, target := range ps.Links {
			out[binEntry(goos, name, target)] = pkg
		}
	}
	return out
}

// checkLinks refuses, before anything is placed, a command whose .bin
// entry is a file gpm did not make.
func (in *installer) checkLinks(changed []*work) error {
	owned := in.st.ownedLinks(runtime.GOOS)
	bin := filepath.Join(in.dir, binDirName)
	for _, w := range changed {
		if len(w.links) == 0 {
			continue
		}
		fi, err := os.Lstat(bin)
		if err == nil && !fi.IsDir() {
			return &PackageError{Name: w.pkg.Name, Version: w.pkg.Version, Err: hint.Wrap(
				fmt.Errorf("%s is not a directory; gpm links the packages' commands in it: %w", bin, errConflict),
				fmt.Sprintf("move %s away and run 'gpm install' again", bin))}
		}
		break
	}
	for _, w := range changed {
		for _, name := range slices.Sorted(maps.Keys(w.links)) {
			e := binEntry(runtime.GOOS, name, w.links[name])
			if _, ok := owned[e]; ok {
				continue
			}
			p := filepath.Join(in.dir, binDirName, e)
			if isOwnLink(p, runtime.GOOS, w.pkg.Name, w.links[name]) {
				continue // what gpm writes there: a run that died before writing the state, or a lost state
			}
			if _, err := os.Lstat(p); err == nil {
				return &PackageError{Name: w.pkg.Name, Version: w.pkg.Version, Err: hint.Wrap(
					fmt.Errorf("%s exists and gpm did not make it; it is not replaced by the command %q: %w", p, name, errConflict),
					fmt.Sprintf("move %s away and run 'gpm install' again, or leave %q out of bin in packages.toml", p, name))}
			}
		}
	}
	return nil
}

// isOwnLink reports whether the .bin entry p is exactly what writeLink
// makes for the command: a symlink to the package's file, or the shim. (An
// .exe copy cannot be told from a user's file before the package is placed.)
func isOwnLink(p, goos, pkg, target string) bool {
	switch {
	case goos == "windows" && isExe(target):
		return false
	case goos == "windows":
		data, err := os.ReadFile(p)
		return err == nil && string(data) == shimText(pkg, target)
	}
	t, err := os.Readlink(p)
	return err == nil && t == linkTarget(pkg, target)
}

// placeLinks links the commands of a placed package, removing the links of
// its previous version that it no longer has.
func (in *installer) placeLinks(pkg string, old, links map[string]string) error {
	bin := filepath.Join(in.dir, binDirName)
	for name, target := range old {
		if nt, ok := links[name]; ok && binEntry(runtime.GOOS, name, nt) == binEntry(runtime.GOOS, name, target) {
			continue
		}
		removeLink(bin, runtime.GOOS, pkg, name, target)
	}
	if len(links) == 0 {
		return nil
	}
	if err := os.MkdirAll(bin, 0o777); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(links)) {
		if err := writeLink(bin, runtime.GOOS, pkg, name, links[name]); err != nil {
			return fmt.Errorf("link command %q: %w", name, err)
		}
	}
	return nil
}

// writeLink puts the command in place atomically: made beside it, then
// renamed over the previous link.
func writeLink(bin, goos, pkg, name, target string) error {
	final := filepath.Join(bin, binEntry(goos, name, target))
	tmp := filepath.Join(bin, ".gpm-tmp-"+binEntry(goos, name, target))
	os.Remove(tmp)
	var err error
	switch {
	case goos == "windows" && isExe(target):
		src := filepath.Join(filepath.Dir(bin), pkg, filepath.FromSlash(target))
		if err = os.Link(src, tmp); err != nil {
			err = copyFile(src, tmp, 0o777)
		}
	case goos == "windows":
		err = os.WriteFile(tmp, []byte(shimText(pkg, target)), 0o666)
	default:
		err = os.Symlink(linkTarget(pkg, target), tmp)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// removeLink removes a command gpm linked, if it is still the one gpm made.
func removeLink(bin, goos, pkg, name, target string) {
	p := filepath.Join(bin, binEntry(goos, name, target))
	if goos == "windows" && isExe(target) {
		// The state says gpm made it; its package's file may be gone.
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			os.Remove(p)
		}
	} else if goos == "windows" {
		if data, err := os.ReadFile(p); err == nil && string(data) == shimText(pkg, target) {
			os.Remove(p)
		}
	} else if t, err := os.Readlink(p); err == nil && t == linkTarget(pkg, target) {
		os.Remove(p)
	}
	os.Remove(bin) // only when empty
}

// binFile returns the placed regular file that bin path p names: p itself,
// or the file a symlink at p leads to (archives hold no symlink chains).
func binFile(files []placed, p string) (*placed, error) {
	find := func(p string) *placed {
		for i := range files {
			if files[i].Path == p {
				return &files[i]
			}
		}
		return nil
	}
	f := find(p)
	if f != nil && f.Type == typeSymlink {
		to := path.Join(path.Dir(p), f.Link)
		if f = find(to); f == nil {
			// Directories made for the files below them are not recorded.
			if slices.ContainsFunc(files, func(g placed) bool { return strings.HasPrefix(g.Path, to+"/") }) {
				return nil, fmt.Errorf("leads to the directory %q, not to a file", to)
			}
			return nil, fmt.Errorf("is a symlink to %q, which the package does not hold", to)
		}
	}
	switch {
	case f == nil:
		return nil, errors.New("is not in the package")
	case f.Type == typeDir:
		return nil, fmt.Errorf("leads to the directory %q, not to a file", f.Path)
	case f.Type != typeFile:
		return nil, fmt.Errorf("leads to %q, which is not a file", f.Path)
	}
	return f, nil
}

// makeExecutable adds execute bits (where read bits are) to the staged
// files that are commands, or that their symlinks lead to, and records the
// new mode.
func (s *stager) makeExecutable(files []placed, links map[string]string) error {
	for _, target := range links {
		f, err := binFile(files, target)
		if err != nil {
			return fmt.Errorf("bin %q: %v", target, err)
		}
		mode := f.Mode | (f.Mode&0o444)>>2
		if mode == f.Mode {
			continue
		}
		if err := s.root.Chmod(f.Path, os.FileMode(mode)); err != nil {
			return fmt.Errorf("make %q executable: %w", f.Path, errors.Unwrap(err))
		}
		f.Mode = mode
	}
	return nil
}

// sameContent reports whether the regular file a is b (a hard link) or
// has its content.
func sameContent(a, b string) bool {
	fa, err := os.Lstat(a)
	if err != nil || !fa.Mode().IsRegular() {
		return false
	}
	fb, err := os.Stat(b)
	if err != nil || !fb.Mode().IsRegular() || fa.Size() != fb.Size() {
		return false
	}
	if os.SameFile(fa, fb) {
		return true
	}
	sa, _, err := hashFile(a)
	if err != nil {
		return false
	}
	sb, _, err := hashFile(b)
	return err == nil && sa == sb
}
