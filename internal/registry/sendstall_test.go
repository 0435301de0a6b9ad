package registry

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// An upload to a server that takes the request's headers and then stops
// reading: once the socket's buffers are full the transport's write blocks,
// and no response timeout has started yet. The upload gives up after the
// read timeout of silence, as a transient error, instead of hanging until
// the job's own timeout.
func TestUploadToAServerThatStopsReading(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				<-stop // holds the connection, reading nothing, answering nothing
			}()
		}
	}()
	cl, err := New("http://"+ln.Addr().String(),
		WithCredential(Credential{Type: TokenPrivate, Token: "secret-token"}),
		WithTransport(newTransportWith(1, time.Second)),
		WithReadTimeout(time.Second),
		WithRetry(Retry{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	body := bytes.NewReader(make([]byte, 64<<20))
	_, err = cl.Upload(ctx, FileRef{Project: "1", Package: "p", Version: "1.0.0", File: "f.bin"}, body, body.Size(), UploadOptions{})
	var stall *sendStallError
	if !errors.As(err, &stall) || ctx.Err() != nil {
		t.Fatalf("upload to a server that stopped reading: %v (context: %v), want it abandoned after the read timeout", err, ctx.Err())
	}
	var te *TransientError
	if !errors.As(err, &te) {
		t.Errorf("a stalled upload is not transient: %v", err)
	}
}
