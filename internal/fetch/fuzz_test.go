package fetch

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtract extracts fuzzed archives and checks that nothing is ever
// written outside the root and that no symlink left in the root resolves
// outside it.
//
// The first byte picks the input's form: 0 raw tar bytes, 1 raw zip bytes,
// 2 and 3 a tar or zip built from a line-based spec, which lets the fuzzer
// reach entry names and links directly. A spec line is TYPE NAME \t LINK \t
// BODY, with TYPE one of f (file), d (directory), s (symlink), h (hard
// link), c (character device), p (fifo), x (executable file).
func FuzzExtract(f *testing.F) {
	for _, seed := range [][]byte{
		append([]byte{0}, makeTar(f, false, file0("ok/a", "a", 0o755), ent{name: "ok/l", typ: tar.TypeSymlink, link: "a"})...),
		append([]byte{0}, makeTar(f, false, file0("../evil", "x", 0))...),
		append([]byte{0}, makeTar(f, false, ent{name: "l", typ: tar.TypeSymlink, link: "."}, file0("l/x", "x", 0))...),
		append([]byte{0}, makeTar(f, false, file0("a", "x", 0), ent{name: "h", typ: tar.TypeLink, link: "a"})...),
		append([]byte{1}, makeZip(f, ent{name: "../evil", typ: '0', body: "x"})...),
		append([]byte{1}, makeZip(f, ent{name: "d/", typ: '5'}, ent{name: "d/l", typ: '2', link: "../x"})...),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		var archive []byte
		var name string
		switch data[0] % 4 {
		case 0:
			archive, name = data[1:], "f.tar"
		case 1:
			archive, name = data[1:], "f.zip"
		case 2:
			archive, name = specArchive(data[1:], false), "f.tar"
		case 3:
			archive, name = specArchive(data[1:], true), "f.zip"
		}
		outer := t.TempDir()
		root := filepath.Join(outer, "a", "b", "root")
		if err := os.MkdirAll(root, 0o755); err != nil {
			t.Fatal(err)
		}
		src := filepath.Join(t.TempDir(), "archive")
		if err := os.WriteFile(src, archive, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := newStager(context.Background(), root, 1<<20, 200, func(string, ...any) {})
		if err != nil {
			t.Fatal(err)
		}
		err = s.extract(name, src, sum(archive), int64(len(archive)))
		if err == nil {
			err = s.finish()
		}
		s.close()

		rootSlash := filepath.ToSlash(root)
		filepath.WalkDir(outer, func(p string, d fs.DirEntry, werr error) error {
			if werr != nil {
				return nil
			}
			rel, _ := filepath.Rel(outer, p)
			rel = filepath.ToSlash(rel)
			switch {
			case rel == "." || rel == "a" || rel == "a/b" || rel == "a/b/root", strings.HasPrefix(rel, "a/b/root/"):
			default:
				t.Fatalf("extraction wrote %q outside the root (err %v)", rel, err)
			}
			if d.Type()&fs.ModeSymlink != 0 {
				if real, rerr := filepath.EvalSymlinks(p); rerr == nil {
					real = filepath.ToSlash(real)
					if real != rootSlash && !strings.HasPrefix(real, rootSlash+"/") {
						t.Fatalf("symlink %q resolves outside the root to %q", rel, real)
					}
				}
			}
			return nil
		})
		if err != nil {
			return
		}
		// What was recorded is what is on disk.
		for _, p := range s.files() {
			if p.Type != typeFile {
				continue
			}
			got, _, herr := hashFile(filepath.Join(root, filepath.FromSlash(p.Path)))
			if herr != nil || got != p.SHA256 {
				t.Fatalf("%q: recorded sha256 %s, on disk %s (%v)", p.Path, p.SHA256, got, herr)
			}
		}
	})
}

// specArchive builds a tar or zip from a line-based spec (see FuzzExtract).
// Entries the writers refuse are skipped.
func specArchive(spec []byte, asZip bool) []byte {
	var buf bytes.Buffer
	var tw *tar.Writer
	var zw *zip.Writer
	if asZip {
		zw = zip.NewWriter(&buf)
	} else {
		tw = tar.NewWriter(&buf)
	}
	lines := strings.Split(string(spec), "\n")
	if len(lines) > 50 {
		lines = lines[:50]
	}
	for _, line := range lines {
		if line == "" {
			continue
		}
		typ := line[0]
		fields := strings.SplitN(line[1:], "\t", 3)
		for len(fields) < 3 {
			fields = append(fields, "")
		}
		name, link, body := fields[0], fields[1], fields[2]
		if asZip {
			h := &zip.FileHeader{Name: name, Method: zip.Deflate}
			mode := fs.FileMode(0o644)
			switch typ {
			case 'd':
				mode = fs.ModeDir | 0o755
			case 's':
				mode, body = fs.ModeSymlink|0o777, link
			case 'c':
				mode = fs.ModeDevice | fs.ModeCharDevice | 0o644
			case 'p':
				mode = fs.ModeNamedPipe | 0o644
			case 'x':
				mode = 0o755
			}
			h.SetMode(mode)
			w, err := zw.CreateHeader(h)
			if err != nil {
				continue
			}
			w.Write([]byte(body))
			continue
		}
		h := &tar.Header{Name: name, Linkname: link, Mode: 0o644, Format: tar.FormatPAX}
		switch typ {
		case 'd':
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case 's':
			h.Typeflag = tar.TypeSymlink
		case 'h':
			h.Typeflag = tar.TypeLink
		case 'c':
			h.Typeflag = tar.TypeChar
		case 'p':
			h.Typeflag = tar.TypeFifo
		case 'x':
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o4777, int64(len(body))
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			continue
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(body))
		}
	}
	if asZip {
		zw.Close()
	} else {
		tw.Close()
	}
	return buf.Bytes()
}
