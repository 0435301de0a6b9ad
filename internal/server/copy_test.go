package server

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// writeSizes is a ResponseWriter that keeps the size of every Write.
type writeSizes struct {
	*httptest.ResponseRecorder
	sizes []int
}

func (w *writeSizes) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.ResponseRecorder.Write(p)
}

// readSizes is a request body that keeps the size of every Read asked for.
type readSizes struct {
	r     io.Reader
	sizes []int
}

func (r *readSizes) Read(p []byte) (int, error) {
	r.sizes = append(r.sizes, len(p))
	return r.r.Read(p)
}

// A download leaves the registry in pieces of copyBufSize, not io.Copy's
// 32 KiB, whole or by range, and an upload is read in such pieces.
func TestFilesMoveInLargePieces(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 4*copyBufSize/16+100)
	for _, objectStorage := range []bool{false, true} {
		opts := Options{}
		if objectStorage {
			opts.ObjectStorageURL = "http://objects.invalid"
		}
		s := New(opts)
		if err := s.AddProject(Project{ID: 1, Path: "acme/tools", Visibility: Public}); err != nil {
			t.Fatal(err)
		}
		s.AddMember(1, "dev", Developer)
		s.AddToken(Token{Value: "dev-pat", Type: TokenPrivate, User: "dev"})
		body := &readSizes{r: bytes.NewReader(data)}
		req := httptest.NewRequest(http.MethodPut, "/api/v4/projects/1/packages/generic/tool/1.0.0/tool.bin", body)
		req.Header.Set("PRIVATE-TOKEN", "dev-pat")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusCreated {
			t.Fatalf("upload: %d %s", w.Code, w.Body)
		}
		if len(body.sizes) == 0 || body.sizes[0] != copyBufSize {
			t.Errorf("upload read in pieces of %v, want %d", body.sizes, copyBufSize)
		}

		path := "/api/v4/projects/1/packages/generic/tool/1.0.0/tool.bin"
		var h http.Handler = s
		if objectStorage {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			if w.Code != http.StatusFound {
				t.Fatalf("download with object storage: %d %s", w.Code, w.Body)
			}
			loc := w.Header().Get("Location")
			req := httptest.NewRequest(http.MethodGet, loc, nil)
			path, h = req.URL.RequestURI(), s.ObjectStorageHandler()
		}
		for _, tc := range []struct {
			rng  string
			want []byte
		}{
			{"", data},
			{"bytes=100-", data[100:]},
		} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if tc.rng != "" {
				req.Header.Set("Range", tc.rng)
			}
			w := &writeSizes{ResponseRecorder: httptest.NewRecorder()}
			h.ServeHTTP(w, req)
			if w.Code/100 != 2 || !bytes.Equal(w.Body.Bytes(), tc.want) {
				t.Fatalf("object storage %v, range %q: %d, %d bytes, want %d", objectStorage, tc.rng, w.Code, w.Body.Len(), len(tc.want))
			}
			if n := (len(tc.want) + copyBufSize - 1) / copyBufSize; len(w.sizes) != n || w.sizes[0] != copyBufSize {
				t.Errorf("object storage %v, range %q: written in pieces of %v, want %d of %d", objectStorage, tc.rng, w.sizes, n, copyBufSize)
			}
		}
	}
}
