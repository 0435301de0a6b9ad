package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/registry"
)

// clients builds one registry client per registry of the manifest, lazily:
// a command that ends up making no request (a no-op install) never resolves
// credentials, so a missing token cannot fail it.
type clients struct {
	c  *cli
	m  *manifest.Manifest
	mu sync.Mutex
	by map[string]*registry.Client
}

func (c *cli) clients(m *manifest.Manifest) *clients {
	return &clients{c: c, m: m, by: map[string]*registry.Client{}}
}

// get returns the client for the registry named name ("" is the default).
func (cs *clients) get(name string) (*registry.Client, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cl, ok := cs.by[name]; ok {
		return cl, nil
	}
	reg := cs.m.Registry
	if name != "" {
		r, ok := cs.m.Registries[name]
		if !ok {
			return nil, usageError("packages.lock names registry %q, which packages.toml does not define", name)
		}
		reg = r
	}
	cl, err := cs.c.newClient(reg)
	if err != nil {
		return nil, err
	}
	cs.by[name] = cl
	return cl, nil
}

// newClient resolves a registry's URL and credential and builds its client.
func (c *cli) newClient(reg manifest.Registry) (*registry.Client, error) {
	url := reg.ResolvedURL(c.getenv)
	var spec *registry.TokenSpec
	if reg.Token != nil {
		spec = &registry.TokenSpec{Env: reg.Token.Env, Type: reg.Token.Type}
	}
	cred, warnings, err := registry.ResolveCredential(url, spec, c.getenv)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", registryLabel(reg), err)
	}
	for _, w := range warnings {
		c.warnf("%s", w)
	}
	opts := []registry.Option{
		registry.WithCredential(cred),
		registry.WithUserAgent(userAgent()),
		registry.WithJobs(c.g.jobs),
	}
	if c.g.verbose {
		opts = append(opts, registry.WithLogf(func(format string, args ...any) {
			fmt.Fprintf(c.stderr, "gpm: "+format+"\n", args...)
		}))
	}
	// GPM_RETRY_BASE shortens the retry backoff; the end-to-end tests set
	// it so that injected faults do not slow the suite down.
	if d, err := time.ParseDuration(c.getenv("GPM_RETRY_BASE")); err == nil && d > 0 {
		opts = append(opts, registry.WithRetry(registry.Retry{Base: d, Max: 10 * d, MaxRetryAfter: 10 * d}))
	}
	// GPM_READ_TIMEOUT is how long a response body may send nothing before
	// gpm gives up on it and retries (default registry.DefaultReadTimeout).
	if v := c.getenv("GPM_READ_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, withHint(usageError("GPM_READ_TIMEOUT=%q is not a positive duration", v),
				"it is how long a download or listing may send nothing before gpm gives up on it and retries (default %v); write it as a Go duration such as 90s or 2m, or unset it", registry.DefaultReadTimeout)
		}
		opts = append(opts, registry.WithReadTimeout(d))
	}
	cl, err := registry.New(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", registryLabel(reg), err)
	}
	if c.g.verbose {
		fmt.Fprintf(c.stderr, "gpm: registry %s: %s, credential: %s\n", registryLabel(reg), cl.APIURL(), cred)
	}
	return cl, nil
}

func registryLabel(reg manifest.Registry) string {
	if reg.Name == "" {
		return "default"
	}
	return fmt.Sprintf("%q", reg.Name)
}
