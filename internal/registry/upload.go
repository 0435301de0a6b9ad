package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// UploadOptions tunes Upload.
type UploadOptions struct {
	// Status is "" (leave the package's status alone), "default" or
	// "hidden". GitLab applies it to the whole package, not just this file.
	Status string
	// Check, when set, lets Upload retry. GitLab appends a second file on
	// a duplicate upload, so an upload is never tried again blindly: after
	// a failure that may be transient (or GitLab's 400 for a duplicate
	// when the group forbids them) and the client's backoff, Upload calls
	// Check right before the next attempt. Check looks at what the
	// version holds now: landed reports the file in place (the lost answer
	// of an attempt that succeeded, or another publisher's identical
	// upload), and Upload returns pf; an error stops Upload with that
	// error; otherwise Upload tries again while attempts remain. Check is
	// also called once after the last attempt, to tell a file that landed
	// from a failure. Without Check a failure is returned at once.
	Check func(ctx context.Context, failed error) (pf PackageFile, landed bool, err error)
}

// Upload publishes size bytes of body as the file f with a PUT
// (?select=package_file), following the client's retry policy only as far
// as opts.Check allows. The body is streamed with a Content-Length and can
// be re-read from the start on a 307/308 redirect.
//
// A failure that may succeed later satisfies errors.Is(err, ErrTransient).
// The result is GitLab's package_file row (ID, PackageID, FileName, Size,
// SHA256); an old server that ignores select answers 201 and only FileName
// and Size are set.
func (c *Client) Upload(ctx context.Context, f FileRef, body io.ReaderAt, size int64, opts UploadOptions) (PackageFile, error) {
	for n := 1; ; n++ {
		pf, err := c.uploadOnce(ctx, f, body, size, opts)
		if err == nil || opts.Check == nil || ctx.Err() != nil {
			return pf, err
		}
		duplicate := errors.Is(err, ErrDuplicate)
		if !duplicate && !errors.Is(err, ErrTransient) {
			return pf, err
		}
		last := duplicate || n >= c.retry.MaxAttempts
		if !last {
			var after time.Duration
			var he *HTTPError
			if errors.As(err, &he) {
				after = he.RetryAfter
			}
			d := c.retry.backoff(n, after)
			c.log("upload of %s failed (%v); checking the version and trying again in %v", f.File, unwrapTransient(err), d.Round(time.Millisecond))
			if serr := c.retry.Sleep(ctx, d); serr != nil {
				return PackageFile{}, serr
			}
		}
		pf, landed, cerr := opts.Check(ctx, err)
		switch {
		case cerr != nil:
			return PackageFile{}, cerr
		case landed:
			return pf, nil
		case duplicate:
			return PackageFile{}, err
		case last:
			return PackageFile{}, &TransientError{Attempts: n, Err: unwrapTransient(err)}
		}
		c.log("%s did not land; uploading it again", f.File)
	}
}

// unwrapTransient returns the failure inside a one-attempt TransientError.
func unwrapTransient(err error) error {
	var te *TransientError
	if errors.As(err, &te) {
		return te.Err
	}
	return err
}

// uploadOnce is one attempt of Upload.
func (c *Client) uploadOnce(ctx context.Context, f FileRef, body io.ReaderAt, size int64, opts UploadOptions) (PackageFile, error) {
	q := url.Values{"select": {"package_file"}}
	switch opts.Status {
	case "":
	case "default", "hidden":
		q.Set("status", opts.Status)
	default:
		return PackageFile{}, fmt.Errorf("upload %s: invalid status %q (want default or hidden)", f, opts.Status)
	}
	if size < 0 {
		return PackageFile{}, fmt.Errorf("upload %s: negative size %d", f, size)
	}
	u, err := c.genericURL(f, q)
	if err != nil {
		return PackageFile{}, err
	}
	if err := ctx.Err(); err != nil {
		return PackageFile{}, err
	}
	req, err := newRequest(ctx, http.MethodPut, u, nil)
	if err != nil {
		return PackageFile{}, err
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
		req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	} else {
		req.Body = io.NopCloser(io.NewSectionReader(body, 0, size))
		req.GetBody = func() (io.ReadCloser, error) {
			return io.NopCloser(io.NewSectionReader(body, 0, size)), nil
		}
		// Lets the server refuse (401, 403, 404) before the body is sent.
		req.Header.Set("Expect", "100-continue")
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Accept", "application/json")

	resp, err := c.send(c.hc, req)
	if err != nil {
		if transientNetError(err) {
			return PackageFile{}, &TransientError{Attempts: 1, Err: err}
		}
		return PackageFile{}, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
		if err != nil {
			return PackageFile{}, &TransientError{Attempts: 1, Err: &requestError{method: http.MethodPut, url: c.redact(u), err: err, msg: "reading response: " + err.Error()}}
		}
		pf, err := decodeUploadResponse(data)
		if err != nil {
			return PackageFile{}, fmt.Errorf("PUT %s: %w", c.redact(u), err)
		}
		return pf, nil
	case http.StatusCreated:
		drain(resp.Body)
		return PackageFile{FileName: f.File, Size: size}, nil
	}
	herr := c.newHTTPError(resp, OpUpload)
	if retryableStatus(herr.Status) {
		return PackageFile{}, &TransientError{Attempts: 1, Err: herr}
	}
	return PackageFile{}, herr
}

// decodeUploadResponse reads the raw package_file row that GitLab returns
// with select=package_file. It is a database row, not a stable entity, so
// only the fields gpm needs are read.
func decodeUploadResponse(data []byte) (PackageFile, error) {
	var w wirePackageFile
	if err := json.Unmarshal(data, &w); err != nil {
		return PackageFile{}, fmt.Errorf("decoding upload response: %w", err)
	}
	return w.toFile()
}
