package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fetch GETs path with a fresh connection and returns what arrived.
func fetch(t *testing.T, f *fixture, path string) (resp *http.Response, body []byte, reqErr, readErr error) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, reqErr = c.Get(f.ts.URL + path)
	if reqErr != nil {
		return nil, nil, reqErr, nil
	}
	defer resp.Body.Close()
	body, readErr = io.ReadAll(resp.Body)
	return resp, body, nil, readErr
}

func TestFaults(t *testing.T) {
	content := strings.Repeat("0123456789abcdef", 256) // 4096 bytes
	path := genericPath("1", "tool/1.0.0/a.bin")
	setup := func(t *testing.T, fl Fault) *fixture {
		f := newSeeded(t, Options{})
		f.publish(pubID, "tool", "1.0.0", "a.bin", content)
		must(t, f.srv.AddFault(fl))
		return f
	}

	t.Run("status", func(t *testing.T) {
		f := setup(t, Fault{Path: "/packages/generic/", Kind: FaultStatus, Status: 503, Times: 2})
		for i := range 3 {
			resp, body, err, _ := fetch(t, f, path)
			if err != nil {
				t.Fatal(err)
			}
			want := 503
			if i == 2 {
				want = 200
			}
			if resp.StatusCode != want {
				t.Errorf("request %d: %d", i, resp.StatusCode)
			}
			if i == 0 && string(body) != `{"message":"503 Service Unavailable"}` {
				t.Errorf("503 body %s", body)
			}
		}
	})
	t.Run("429 body", func(t *testing.T) {
		f := setup(t, Fault{Kind: FaultStatus, Status: 429})
		resp, body, err, _ := fetch(t, f, path)
		if err != nil || resp.StatusCode != 429 || string(body) != "Retry later\n" || resp.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("429: %v %v %q", err, resp, body)
		}
	})
	t.Run("retry_after_seconds", func(t *testing.T) {
		f := setup(t, Fault{Method: "GET", Path: `generic/tool/\d`, Kind: FaultRetryAfterSeconds, RetryAfter: 1500 * time.Millisecond})
		resp, _, err, _ := fetch(t, f, path)
		if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
			t.Errorf("retry_after_seconds: %v %d %q", err, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	})
	t.Run("retry_after_date", func(t *testing.T) {
		f := setup(t, Fault{Kind: FaultRetryAfterDate, Status: 503, RetryAfter: time.Minute})
		resp, _, err, _ := fetch(t, f, path)
		if err != nil {
			t.Fatal(err)
		}
		when, perr := http.ParseTime(resp.Header.Get("Retry-After"))
		if resp.StatusCode != 503 || perr != nil || when.Before(time.Now().Add(50*time.Second)) {
			t.Errorf("retry_after_date: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	})
	t.Run("reset_before", func(t *testing.T) {
		f := setup(t, Fault{Kind: FaultResetBefore})
		_, _, err, _ := fetch(t, f, path)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("reset_before: %v, want a connection reset", err)
		}
		if resp, _, err, _ := fetch(t, f, path); err != nil || resp.StatusCode != 200 {
			t.Errorf("after the fault: %v", err)
		}
	})
	t.Run("reset_during", func(t *testing.T) {
		f := setup(t, Fault{Kind: FaultResetDuring, After: 1000})
		resp, body, err, readErr := fetch(t, f, path)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !errors.Is(readErr, syscall.ECONNRESET) || string(body) != content[:1000] {
			t.Errorf("reset_during: %d, %d bytes, read error %v", resp.StatusCode, len(body), readErr)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		f := setup(t, Fault{Kind: FaultTruncate})
		resp, body, err, readErr := fetch(t, f, path)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ContentLength != 4096 || !errors.Is(readErr, io.ErrUnexpectedEOF) || len(body) != 2048 {
			t.Errorf("truncate: length %d, %d bytes, read error %v", resp.ContentLength, len(body), readErr)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		f := setup(t, Fault{Kind: FaultCorrupt})
		resp, body, err, readErr := fetch(t, f, path)
		if err != nil || readErr != nil {
			t.Fatal(err, readErr)
		}
		if len(body) != len(content) || string(body) == content || resp.Header.Get("X-Checksum-Sha256") != sha(content) || sha(string(body)) == sha(content) {
			t.Errorf("corrupt: %d bytes, equal %v", len(body), string(body) == content)
		}
		diff := 0
		for i := range body {
			if body[i] != content[i] {
				diff++
			}
		}
		if diff != 4 {
			t.Errorf("corrupt flipped %d bytes, want 4", diff)
		}
	})
	t.Run("slow", func(t *testing.T) {
		f := setup(t, Fault{Kind: FaultSlow, Delay: 3 * time.Millisecond})
		start := time.Now()
		resp, body, err, readErr := fetch(t, f, path)
		if err != nil || readErr != nil || resp.StatusCode != 200 || string(body) != content {
			t.Fatalf("slow: %v %v", err, readErr)
		}
		if d := time.Since(start); d < 12*time.Millisecond {
			t.Errorf("slow download took %v", d)
		}
	})
	t.Run("stall", func(t *testing.T) {
		f := setup(t, Fault{Kind: FaultStall, After: 1000})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.ts.URL+path, nil)
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got := make([]byte, 1000)
		if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != content[:1000] || resp.ContentLength != 4096 {
			t.Fatalf("stall: length %d, first bytes %q, %v", resp.ContentLength, got[:10], err)
		}
		// Nothing more comes until the client gives up (and the handler
		// then returns, or the server's Close would wait for it).
		time.AfterFunc(50*time.Millisecond, cancel)
		if n, err := resp.Body.Read(got); n != 0 || err == nil {
			t.Errorf("stall: read %d more bytes, %v; want none and an error", n, err)
		}
	})
	t.Run("stall with delay", func(t *testing.T) {
		f := setup(t, Fault{Kind: FaultStall, Delay: 5 * time.Millisecond})
		resp, body, err, readErr := fetch(t, f, path)
		if err != nil || readErr != nil || resp.StatusCode != 200 || string(body) != content {
			t.Fatalf("stall with delay: %v %v, %d bytes", err, readErr, len(body))
		}
	})
	t.Run("upload lands despite reset_during", func(t *testing.T) {
		f := setup(t, Fault{Method: "PUT", Kind: FaultResetDuring, After: 5})
		req, _ := http.NewRequest(http.MethodPut, f.ts.URL+genericPath("2", "tool/9.0.0/x.bin"), strings.NewReader("landed"))
		req.Header.Set("PRIVATE-TOKEN", "dev-pat")
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Error("upload response arrived whole")
		}
		if res := f.get(genericPath("2", "tool/9.0.0/x.bin"), dev...); string(res.body) != "landed" {
			t.Errorf("upload did not land: %d", res.status)
		}
	})
	t.Run("object storage", func(t *testing.T) {
		f := setup(t, Fault{Path: "^/packages/[0-9a-f]{64}/", Kind: FaultStatus, Status: 500})
		f.srv.EnableRedirects(newObjectStorage(t, f.srv))
		resp, err := http.Get(f.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Errorf("faulted object storage: %d", resp.StatusCode)
		}
	})
	t.Run("clear", func(t *testing.T) {
		f := setup(t, Fault{Kind: FaultStatus, Times: -1})
		for range 3 {
			if resp, _, _, _ := fetch(t, f, path); resp.StatusCode != 500 {
				t.Errorf("forever fault: %d", resp.StatusCode)
			}
		}
		f.srv.ClearFaults()
		if resp, _, _, _ := fetch(t, f, path); resp.StatusCode != 200 {
			t.Errorf("after ClearFaults: %d", resp.StatusCode)
		}
		if err := f.srv.AddFault(Fault{Kind: "explode"}); err == nil {
			t.Error("unknown kind accepted")
		}
	})
}

func TestCountsAndLatency(t *testing.T) {
	f := newSeeded(t, Options{})
	pf := f.publish(pubID, "tool", "1.0.0", "a.bin", "x")
	f.get("/api/v4/projects/1/packages")
	f.get("/api/v4/projects/1/packages")
	f.get("/api/v4/projects/1/packages/1/package_files")
	f.get("/api/v4/groups/acme/packages")
	f.get(genericPath("1", "tool/1.0.0/a.bin"))
	f.do(http.MethodHead, genericPath("1", "tool/1.0.0/a.bin"), nil)
	f.get("/api/v4/projects/1/packages/1/package_files/" + strconv.FormatInt(pf.ID, 10) + "/download")
	f.put(genericPath("1", "tool/1.0.0/b.bin"), "y", dev...)
	f.put(genericPath("1", "tool/1.0.0/c.bin"), "y") // 401 still counts
	f.get("/api/v4/projects/1/packages/1")
	f.get("/nowhere")
	want := map[string]int{
		KindListPackages: 2, KindListFiles: 1, KindListGroup: 1, KindDownload: 3, KindUpload: 2, KindOther: 2,
	}
	got := f.srv.Counts()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("count %s = %d, want %d", k, got[k], v)
		}
	}
	f.srv.ResetCounts()
	if n := len(f.srv.Counts()); n != 0 {
		t.Errorf("%d kinds after ResetCounts", n)
	}

	f.srv.SetLatency(20 * time.Millisecond)
	start := time.Now()
	f.get("/api/v4/projects/1/packages")
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("request with latency took %v", d)
	}
	f.srv.SetLatency(0)
}

func TestAccessLogRedactsTokens(t *testing.T) {
	lines := make(chan string, 10)
	f := newSeeded(t, Options{Logf: func(format string, args ...any) {
		lines <- fmt.Sprintf(format, args...)
	}})
	f.get("/api/v4/projects/1/packages?private_token=dev-pat&job_token=job-same", "PRIVATE-TOKEN", "dev-pat")
	select {
	case line := <-lines:
		if strings.Contains(line, "dev-pat") || strings.Contains(line, "job-same") || !strings.Contains(line, " 200 ") {
			t.Errorf("log line %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no access log line")
	}
}
