package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Find looks for the file name (packages.toml) in dir and then in each of
// dir's parents, as cargo, npm and go look for their manifests, so that gpm
// works from any subdirectory of a project. It returns the path of the first
// one found: dir joined with name, or with as many ".." as it climbed. When
// there is none up to the file system root the error matches
// fs.ErrNotExist and names dir.
func Find(dir, name string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	rel := dir
	for {
		fi, err := os.Stat(filepath.Join(abs, name))
		if err == nil && !fi.IsDir() {
			return filepath.Join(rel, name), nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
			return "", err
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return "", fmt.Errorf("no %s in %s or any parent directory: %w", name, displayDir(dir), fs.ErrNotExist)
		}
		abs, rel = parent, filepath.Join(rel, "..")
	}
}

// displayDir shows "." as the working directory it stands for.
func displayDir(d string) string {
	if d == "." {
		if wd, err := os.Getwd(); err == nil {
			return wd
		}
	}
	return d
}
