package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// BinDirName is the directory inside the vendor directory that holds the
// links install makes for each package's bin entries: DIR/.bin/NAME, a
// relative symlink on Unix, NAME.exe or a NAME.cmd shim on Windows.
const BinDirName = ".bin"

// ErrNoBins is the error of Bins and Bin when the vendor directory has no
// .bin directory: no installed package declares a bin.
var ErrNoBins = errors.New("no bin links installed")

// ErrNoBin is the error of Bin for a name that is not in .bin.
var ErrNoBin = errors.New("no such bin")

// BinDir is the absolute path of DIR/.bin, the directory gpm env puts on
// PATH. It may not exist.
func (p *Project) BinDir() (string, error) {
	return filepath.Abs(filepath.Join(p.Dir, BinDirName))
}

// binSuffixes are the file name endings a bin link has on this system, in
// the order Bin prefers them.
func binSuffixes() []string {
	if runtime.GOOS == "windows" {
		return []string{".exe", ".cmd"}
	}
	return []string{""}
}

// Bins lists the names of the bin links in DIR/.bin, sorted, without the
// .exe or .cmd of Windows. It is ErrNoBins when there is no DIR/.bin.
func (p *Project) Bins() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(p.Dir, BinDirName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoBins
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var names []string
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		for _, suf := range binSuffixes() {
			name, ok := cutSuffixFold(e.Name(), suf)
			if ok && name != "" && !seen[name] {
				seen[name] = true
				names = append(names, name)
				break
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

func cutSuffixFold(s, suffix string) (string, bool) {
	if len(s) < len(suffix) || !strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s, false
	}
	return s[:len(s)-len(suffix)], true
}

// Bin returns the path of the bin link NAME in DIR/.bin: DIR/.bin/NAME on
// Unix, DIR/.bin/NAME.exe or DIR/.bin/NAME.cmd on Windows. A name that is
// not there is ErrNoBin (ErrNoBins when there is no DIR/.bin at all); a
// link whose target is gone is an error matching ErrIntegrity.
func (p *Project) Bin(name string) (string, error) {
	dir := filepath.Join(p.Dir, BinDirName)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return "", ErrNoBins
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("%w: %q", ErrNoBin, name)
	}
	for _, suf := range binSuffixes() {
		path := filepath.Join(dir, name+suf)
		if _, err := os.Lstat(path); err != nil {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			return "", &kindError{kind: ErrIntegrity, msg: fmt.Sprintf("bin %s: its link %s points at nothing", name, path)}
		}
		return path, nil
	}
	return "", fmt.Errorf("%w: %q", ErrNoBin, name)
}

// NeedsInstall reports whether the vendor directory is not as locked: there
// is no lock, or a locked package is not in place.
func (p *Project) NeedsInstall() bool {
	if p.Lock == nil {
		return true
	}
	for _, ok := range p.Installed() {
		if !ok {
			return true
		}
	}
	return false
}
