package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// realRow is GitLab's raw package_file row answered with select=package_file.
const realRow = `{
  "id": 72696499, "package_id": 13447789, "created_at": "2023-03-22T21:37:30.948Z",
  "updated_at": "2023-03-22T21:37:30.948Z", "size": 11, "file_store": 2,
  "file_md5": null, "file_sha1": null, "file_name": "dir%2Ftool.bin",
  "file": { "url": "https://storage.example.com/x?Signature=abc" },
  "file_sha256": "0CA093111F402FAA55BE1CD71006270644B58619EB0C2408B97B7D24BB70DD09",
  "verification_retry_at": null, "verified_at": null, "verification_failure": "boom",
  "verification_retry_count": null, "verification_checksum": null, "verification_state": 0,
  "verification_started_at": null, "status": "default", "new_file_path": null
}`

func TestUpload(t *testing.T) {
	body := []byte("hello world")
	var gotBody []byte
	var gotLen int64
	srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		gotLen = r.ContentLength
		fmt.Fprint(w, realRow)
	})
	c, _ := client(t, srv.URL, WithCredential(Credential{Type: TokenJob, Token: "job-tok"}))
	pf, err := c.Upload(context.Background(), FileRef{"group/proj", "tool", "1.2.3", "dir/tool.bin"}, bytes.NewReader(body), int64(len(body)), UploadOptions{Status: "hidden"})
	if err != nil {
		t.Fatal(err)
	}
	want := PackageFile{ID: 72696499, PackageID: 13447789, FileName: "dir/tool.bin", Size: 11, SHA256: "0ca093111f402faa55be1cd71006270644b58619eb0c2408b97b7d24bb70dd09"}
	pf.CreatedAt = want.CreatedAt
	if pf != want {
		t.Errorf("got %+v\nwant %+v", pf, want)
	}
	r := rec.list()[0]
	if r.Method != http.MethodPut {
		t.Errorf("method %s", r.Method)
	}
	if wantURI := "/api/v4/projects/group%2Fproj/packages/generic/tool/1.2.3/dir/tool.bin?select=package_file&status=hidden"; r.URI != wantURI {
		t.Errorf("URI %s, want %s", r.URI, wantURI)
	}
	if !bytes.Equal(gotBody, body) || gotLen != int64(len(body)) {
		t.Errorf("server got %q with Content-Length %d", gotBody, gotLen)
	}
	if r.Header.Get("Job-Token") != "job-tok" {
		t.Errorf("no JOB-TOKEN header")
	}
}

func TestUploadOldServer201(t *testing.T) {
	srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"message":"201 Created"}`)
	})
	c, _ := client(t, srv.URL, WithCredential(privateCred))
	pf, err := c.Upload(context.Background(), FileRef{"1", "tool", "1.2.3", "a.bin"}, strings.NewReader("abc"), 3, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pf != (PackageFile{FileName: "a.bin", Size: 3}) {
		t.Errorf("got %+v", pf)
	}
	if strings.Contains(rec.list()[0].URI, "status=") {
		t.Errorf("status sent without being asked: %s", rec.list()[0].URI)
	}
}

func TestUploadEmptyFile(t *testing.T) {
	var gotLen int64 = -2
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		gotLen = r.ContentLength
		fmt.Fprint(w, `{"id":1,"package_id":2,"file_name":"empty","size":0,"file_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}`)
	})
	c, _ := client(t, srv.URL)
	if _, err := c.Upload(context.Background(), FileRef{"1", "tool", "1", "empty"}, strings.NewReader(""), 0, UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	if gotLen != 0 {
		t.Errorf("Content-Length %d, want 0", gotLen)
	}
}

// Without a Check hook an upload is never retried: GitLab would keep a
// second copy of a file that landed although its answer was lost.
func TestUploadIsNeverRetried(t *testing.T) {
	tests := []struct {
		status    int
		body      string
		transient bool
		is        error
	}{
		{500, `{"message":"500 Internal Server Error"}`, true, nil},
		{503, ``, true, nil},
		{429, "Retry later\n", true, nil},
		{400, `{"message":"400 Bad request - Duplicate package is not allowed"}`, false, ErrDuplicate},
		{400, `{"message":"400 Bad request - File is too large"}`, false, ErrTooLarge},
		{413, `<html><title>413 Request Entity Too Large</title></html>`, false, ErrTooLarge},
		{403, `{"message":"403 Forbidden"}`, false, ErrUnauthorized},
		{401, `{"message":"401 Unauthorized"}`, false, ErrUnauthorized},
		{404, `{"message":"404 Project Not Found"}`, false, ErrNotFound},
	}
	for _, tt := range tests {
		var n atomic.Int32
		srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(tt.status)
			fmt.Fprint(w, tt.body)
		})
		c, sl := client(t, srv.URL, WithCredential(privateCred))
		_, err := c.Upload(context.Background(), FileRef{"1", "tool", "1", "f"}, strings.NewReader("abc"), 3, UploadOptions{})
		if err == nil {
			t.Errorf("%d: no error", tt.status)
			continue
		}
		if n.Load() != 1 || len(sl.all()) != 0 {
			t.Errorf("%d: %d attempts, %d waits; uploads must not be retried", tt.status, n.Load(), len(sl.all()))
		}
		if errors.Is(err, ErrTransient) != tt.transient {
			t.Errorf("%d: transient = %v, want %v (%v)", tt.status, !tt.transient, tt.transient, err)
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%d: err = %v, want %v", tt.status, err, tt.is)
		}
		var he *HTTPError
		if !errors.As(err, &he) || he.Op != OpUpload {
			t.Errorf("%d: err = %#v", tt.status, err)
		}
	}
}

func TestUploadNetworkErrorIsTransient(t *testing.T) {
	ft := &flakyTransport{errs: []error{io.ErrUnexpectedEOF}}
	c, _ := client(t, "http://127.0.0.1:1", WithTransport(ft))
	_, err := c.Upload(context.Background(), FileRef{"1", "tool", "1", "f"}, strings.NewReader("abc"), 3, UploadOptions{})
	if !errors.Is(err, ErrTransient) || ft.calls.Load() != 1 {
		t.Errorf("err = %v after %d calls", err, ft.calls.Load())
	}
}

// TestUploadFollows307WithBody: a 307 keeps the method, and the body is
// re-created from the ReaderAt.
func TestUploadFollows307WithBody(t *testing.T) {
	body := bytes.Repeat([]byte("z"), 100000)
	var final []byte
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/moved") {
			http.Redirect(w, r, "/moved"+r.URL.Path+"?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
			return
		}
		final, _ = io.ReadAll(r.Body)
		fmt.Fprint(w, `{"id":1,"package_id":2,"file_name":"f","size":100000,"file_sha256":null}`)
	})
	c, _ := client(t, srv.URL, WithCredential(privateCred))
	if _, err := c.Upload(context.Background(), FileRef{"1", "tool", "1", "f"}, bytes.NewReader(body), int64(len(body)), UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(final, body) {
		t.Errorf("redirected upload got %d bytes", len(final))
	}
}

func TestUploadBadOptions(t *testing.T) {
	c, _ := client(t, "https://gitlab.example.com")
	if _, err := c.Upload(context.Background(), FileRef{"1", "p", "1", "f"}, strings.NewReader(""), 0, UploadOptions{Status: "processing"}); err == nil {
		t.Error("accepted status processing")
	}
	if _, err := c.Upload(context.Background(), FileRef{"1", "p", "1", "f"}, strings.NewReader(""), -1, UploadOptions{}); err == nil {
		t.Error("accepted a negative size")
	}
}

func TestDecodeUploadResponse(t *testing.T) {
	for _, tc := range []string{
		`{"id":1,"package_id":2,"file_name":"f","size":3,"file_sha256":null,"verification_failure":null}`,
		`{"id":1,"package_id":2,"file_name":"f","size":3,"verification_failure":"checksum failed","status":"default","extra":{"a":[1]}}`,
	} {
		if pf, err := decodeUploadResponse([]byte(tc)); err != nil || pf.ID != 1 || pf.FileName != "f" {
			t.Errorf("decode(%s) = %+v, %v", tc, pf, err)
		}
	}
	for _, bad := range []string{`[]`, `{"id":1,"file_name":"../x"}`, `not json`, `null`} {
		if _, err := decodeUploadResponse([]byte(bad)); err == nil {
			t.Errorf("decode(%s) succeeded", bad)
		}
	}
}

// TestUploadEarlyRejection: GitLab authorizes an upload before reading its
// body; a refusal must come back as the HTTP error, not a broken pipe, and
// the body need not be sent.
func TestUploadEarlyRejection(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"403 Forbidden"}`)
	})
	c, _ := client(t, srv.URL, WithCredential(privateCred))
	body := &countingReaderAt{r: bytes.NewReader(make([]byte, 32<<20))}
	_, err := c.Upload(context.Background(), FileRef{"1", "tool", "1", "big.bin"}, body, 32<<20, UploadOptions{})
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want the 403", err)
	}
	if n := body.n.Load(); n > 1<<20 {
		t.Errorf("sent %d bytes of a refused upload", n)
	}
}

type countingReaderAt struct {
	r *bytes.Reader
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// With a Check hook, Upload follows the client's retry policy: it waits,
// asks Check right before each new attempt, stops when Check finds the file
// or reports an error, and asks once more after the last attempt.
func TestUploadRetriesOnlyThroughCheck(t *testing.T) {
	race := errors.New("another publisher's file appeared")
	tests := []struct {
		name     string
		statuses []int // answers, in order; the last repeats
		check    func(n int) (PackageFile, bool, error)
		attempts int32
		checks   int
		waits    int
		wantErr  error // nil: success
		wantID   int64
	}{
		{"success after a 500", []int{500, 200}, func(int) (PackageFile, bool, error) { return PackageFile{}, false, nil }, 2, 1, 1, nil, 7},
		{"landed although the answer was lost", []int{502}, func(int) (PackageFile, bool, error) { return PackageFile{ID: 9}, true, nil }, 1, 1, 1, nil, 9},
		{"check stops the retries", []int{500}, func(int) (PackageFile, bool, error) { return PackageFile{}, false, race }, 1, 1, 1, race, 0},
		{"exhausted, checked once after the last", []int{503}, func(int) (PackageFile, bool, error) { return PackageFile{}, false, nil }, 4, 4, 3, ErrTransient, 0},
		{"duplicate: checked at once, not retried", []int{400}, func(int) (PackageFile, bool, error) { return PackageFile{}, false, nil }, 1, 1, 0, ErrDuplicate, 0},
		{"duplicate that is ours", []int{400}, func(int) (PackageFile, bool, error) { return PackageFile{ID: 3}, true, nil }, 1, 1, 0, nil, 3},
		{"permanent failure: no check", []int{403}, func(int) (PackageFile, bool, error) { t.Error("checked a 403"); return PackageFile{}, false, nil }, 1, 0, 0, ErrUnauthorized, 0},
	}
	for _, tt := range tests {
		var n atomic.Int32
		srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
			i := int(n.Add(1)) - 1
			io.Copy(io.Discard, r.Body)
			status := tt.statuses[min(i, len(tt.statuses)-1)]
			w.WriteHeader(status)
			switch status {
			case 200:
				fmt.Fprint(w, `{"id":7,"package_id":1,"file_name":"f","size":3,"file_sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}`)
			case 400:
				fmt.Fprint(w, `{"message":"400 Bad request - Duplicate package is not allowed"}`)
			}
		})
		c, sl := client(t, srv.URL, WithCredential(privateCred))
		checks := 0
		pf, err := c.Upload(context.Background(), FileRef{"1", "tool", "1", "f"}, strings.NewReader("abc"), 3, UploadOptions{
			Check: func(ctx context.Context, failed error) (PackageFile, bool, error) {
				checks++
				return tt.check(checks)
			},
		})
		if n.Load() != tt.attempts || checks != tt.checks || len(sl.all()) != tt.waits {
			t.Errorf("%s: %d attempts, %d checks, %d waits; want %d, %d, %d", tt.name, n.Load(), checks, len(sl.all()), tt.attempts, tt.checks, tt.waits)
		}
		switch {
		case tt.wantErr == nil && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
		case tt.wantErr == nil && pf.ID != tt.wantID:
			t.Errorf("%s: file id %d, want %d", tt.name, pf.ID, tt.wantID)
		}
	}
}
