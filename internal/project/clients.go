package project

import (
	"fmt"
	"os"
	"sync"

	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/registry"
)

// clients builds one registry client per registry of the manifest, lazily:
// a command that ends up making no request (a no-op install) never resolves
// credentials, so a missing token cannot fail it.
type clients struct {
	p  *Project
	mu sync.Mutex
	by map[string]*registry.Client
}

func newClients(p *Project) *clients {
	return &clients{p: p, by: map[string]*registry.Client{}}
}

// get returns the client for the registry named name ("" is the default).
func (cs *clients) get(name string) (*registry.Client, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cl, ok := cs.by[name]; ok {
		return cl, nil
	}
	reg := cs.p.Manifest.Registry
	if name != "" {
		r, ok := cs.p.Manifest.Registries[name]
		if !ok {
			return nil, kindErrorf(manifest.ErrInvalid, "%s names registry %q, which %s does not define",
				baseName(cs.p.LockPath), name, baseName(cs.p.ManifestPath))
		}
		reg = r
	}
	if name == "" && reg.URL == "" && getenv(cs.p.env, "CI_SERVER_URL") == "" {
		// Say once which instance gets the user's token when the manifest
		// does not: a commented-out url should not quietly mean a public
		// instance.
		cs.p.fallbackWarned.Do(func() {
			cs.p.env.Warn("%s sets no [registry] url and $CI_SERVER_URL is unset: using %s; set url in [registry] to use another GitLab instance",
				baseName(cs.p.ManifestPath), manifest.DefaultURL)
		})
	}
	cl, err := NewClient(reg, cs.p.env)
	if err != nil {
		return nil, err
	}
	cs.by[name] = cl
	return cl, nil
}

// Client returns the client for the registry named name ("" is the
// manifest's default registry), building it on first use.
func (p *Project) Client(name string) (*registry.Client, error) { return p.clients.get(name) }

// NewClient resolves a registry's URL and credential and builds its client
// (see registry.Open).
func NewClient(reg manifest.Registry, env Env) (*registry.Client, error) {
	var spec *registry.TokenSpec
	if reg.Token != nil {
		spec = &registry.TokenSpec{Env: reg.Token.Env, Type: reg.Token.Type}
	}
	return registry.Open(reg.ResolvedURL(env.Getenv), RegistryLabel(reg), spec, reg.Name == "", env)
}

// RegistryLabel names a registry in messages: default, or its quoted name.
func RegistryLabel(reg manifest.Registry) string {
	if reg.Name == "" {
		return "default"
	}
	return fmt.Sprintf("%q", reg.Name)
}

func getenv(env Env, k string) string {
	if env.Getenv == nil {
		return os.Getenv(k)
	}
	return env.Getenv(k)
}
