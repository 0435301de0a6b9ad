package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// hostileRegistry is a GitLab look-alike that lies. internal/server
// validates names and follows GitLab's rules, so it cannot serve what a
// compromised or broken registry would; this one serves project 1 with the
// package "tool" 1.0.0 (file tool.bin) and lets each test replace any of
// its three routes.
type hostileRegistry struct {
	// packages answers GET /projects/1/packages, files GET
	// /projects/1/packages/:id/package_files, download GET
	// /projects/1/packages/generic/...; nil means the honest answer.
	packages, files, download http.HandlerFunc

	mu    sync.Mutex
	paths []string // every request path, decoded
}

var (
	toolData   = []byte("tool bytes\n")
	toolSHA256 = sha256hex(toolData)
)

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (h *hostileRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.paths = append(h.paths, r.URL.Path)
	h.mu.Unlock()
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/v4/projects/1/packages/generic/"):
		if h.download != nil {
			h.download(w, r)
			return
		}
		if p != "/api/v4/projects/1/packages/generic/tool/1.0.0/tool.bin" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(toolData)))
		w.Write(toolData)
	case strings.HasSuffix(p, "/package_files"):
		if h.files != nil {
			h.files(w, r)
			return
		}
		writeJSONBody(w, []map[string]any{fileRow(7, "tool.bin", int64(len(toolData)), toolSHA256)})
	case p == "/api/v4/projects/1/packages":
		if h.packages != nil {
			h.packages(w, r)
			return
		}
		writeJSONBody(w, []map[string]any{packageRow(1, "tool", "1.0.0")})
	default:
		http.NotFound(w, r)
	}
}

func (h *hostileRegistry) requested() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.paths...)
}

func packageRow(id int, name, version string) map[string]any {
	return map[string]any{"id": id, "name": name, "version": version, "package_type": "generic", "status": "default", "created_at": "2025-01-10T09:15:02.123Z"}
}

func fileRow(id int, name string, size int64, sha string) map[string]any {
	return map[string]any{"id": id, "package_id": 1, "file_name": name, "size": size, "file_sha256": sha, "file_md5": nil, "file_sha1": nil}
}

func writeJSONBody(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// filesNamed lists one file with the given (raw, as GitLab stores it) name.
func filesNamed(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSONBody(w, []map[string]any{fileRow(7, name, int64(len(toolData)), toolSHA256)})
	}
}

// endless writes prefix, then filler until the client goes away.
func endless(status int, prefix, filler string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		if _, err := w.Write([]byte(prefix)); err != nil {
			return
		}
		chunk := []byte(strings.Repeat(filler, (64<<10)/len(filler)))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
}

// serveTool answers any download with tool.bin's bytes.
func serveTool(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", strconv.Itoa(len(toolData)))
	w.Write(toolData)
}

// peakRSS polls the peak resident set size (VmHWM, in KiB) of process pid
// until done is closed, and returns the last value read; 0 where /proc is
// not there. (The rusage of a finished child is no use: Linux counts the
// memory of the parent it was forked from.)
func peakRSS(pid int, done <-chan struct{}) int64 {
	var peak int64
	path := fmt.Sprintf("/proc/%d/status", pid)
	for {
		if data, err := os.ReadFile(path); err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64); err == nil && kb > peak {
						peak = kb
					}
				}
			}
		}
		select {
		case <-done:
			return peak
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// raceBuild reports whether this binary, and so the gpm under test, was
// built with -race.
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

func redirectTo(loc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if loc == "" {
			loc = r.URL.String() // to itself
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusFound)
	}
}
