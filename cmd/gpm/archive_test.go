package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"io"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdMkarchive writes an archive for extraction tests, hostile ones included:
//
//	mkarchive tar.gz|tgz|tar|zip OUT ENTRY...
//
// where ENTRY is "path=content" (a file; "\n" is a newline), "path/" (a
// directory), "path->target" (a symlink), "path=>target" (a hard link),
// "path!dev" (a character device) or "path*N" (a file of N zero bytes,
// for decompression bombs).
func cmdMkarchive(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: mkarchive FORMAT OUT ENTRY...")
	}
	f, err := os.Create(ts.MkAbs(args[1]))
	ts.Check(err)
	defer f.Close()
	format, entries := args[0], args[2:]
	if format == "zip" {
		zw := zip.NewWriter(f)
		for _, e := range entries {
			name, content, kind, target := parseEntry(e)
			switch kind {
			case "dir":
				_, err = zw.Create(name)
			case "symlink":
				h := &zip.FileHeader{Name: name}
				h.SetMode(os.ModeSymlink | 0o777)
				var w io.Writer
				if w, err = zw.CreateHeader(h); err == nil {
					_, err = io.WriteString(w, target)
				}
			case "file", "zeros":
				var w io.Writer
				if w, err = zw.Create(name); err == nil {
					_, err = io.Copy(w, content)
				}
			default:
				ts.Fatalf("mkarchive: zip cannot hold %s entries", kind)
			}
			ts.Check(err)
		}
		ts.Check(zw.Close())
		return
	}
	var w io.Writer = f
	if format == "tar.gz" || format == "tgz" {
		gz := gzip.NewWriter(f)
		defer func() { ts.Check(gz.Close()) }()
		w = gz
	} else if format != "tar" {
		ts.Fatalf("mkarchive: unknown format %q", format)
	}
	tw := tar.NewWriter(w)
	for _, e := range entries {
		name, content, kind, target := parseEntry(e)
		h := &tar.Header{Name: name, Mode: 0o644}
		switch kind {
		case "dir":
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case "symlink":
			h.Typeflag, h.Linkname = tar.TypeSymlink, target
		case "hardlink":
			h.Typeflag, h.Linkname = tar.TypeLink, target
		case "device":
			h.Typeflag = tar.TypeChar
		case "file", "zeros":
			h.Typeflag = tar.TypeReg
			if strings.HasSuffix(name, ".sh") {
				h.Mode = 0o755
			}
			data, err := io.ReadAll(content)
			ts.Check(err)
			h.Size = int64(len(data))
			ts.Check(tw.WriteHeader(h))
			_, err = tw.Write(data)
			ts.Check(err)
			continue
		}
		ts.Check(tw.WriteHeader(h))
	}
	ts.Check(tw.Close())
}

func parseEntry(e string) (name string, content io.Reader, kind, target string) {
	switch {
	case strings.Contains(e, "=>"):
		name, target, _ = strings.Cut(e, "=>")
		return name, nil, "hardlink", target
	case strings.Contains(e, "->"):
		name, target, _ = strings.Cut(e, "->")
		return name, nil, "symlink", target
	case strings.Contains(e, "="):
		name, data, _ := strings.Cut(e, "=")
		return name, strings.NewReader(strings.ReplaceAll(data, `\n`, "\n")), "file", ""
	case strings.HasSuffix(e, "!dev"):
		return strings.TrimSuffix(e, "!dev"), nil, "device", ""
	case strings.Contains(e, "*"):
		name, n, _ := strings.Cut(e, "*")
		size := 0
		for _, c := range n {
			size = size*10 + int(c-'0')
		}
		return name, io.LimitReader(zeros{}, int64(size)), "zeros", ""
	case strings.HasSuffix(e, "/"):
		return e, nil, "dir", ""
	}
	return e, strings.NewReader(""), "file", ""
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
