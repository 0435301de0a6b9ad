package project

import (
	"errors"
	"io/fs"
	"net/url"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/registry"
)

// StandaloneClient is the client of a command that does not need a
// packages.toml (publish, search). Its registry is flagURL when given, else
// the [registry] of the manifest at manifestPath when there is one (with its
// token), else $CI_SERVER_URL. Unlike install it never falls back to a
// public instance: with none of them, it is an error matching
// registry.ErrSetting.
func StandaloneClient(flagURL, manifestPath string, env Env) (*registry.Client, error) {
	reg, err := standaloneRegistry(flagURL, manifestPath, env)
	if err != nil {
		return nil, err
	}
	return NewClient(reg, env)
}

func standaloneRegistry(flagURL, manifestPath string, env Env) (manifest.Registry, error) {
	if flagURL != "" {
		u, err := url.Parse(flagURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return manifest.Registry{}, kindErrorf(registry.ErrSetting, "invalid --registry %q: want an http(s) URL such as https://gitlab.example.com", flagURL)
		}
		return manifest.Registry{URL: flagURL, URLSet: true}, nil
	}
	var reg manifest.Registry
	m, err := manifest.Load(manifestPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return reg, err
	default:
		reg = m.Registry
	}
	if reg.URL == "" && env.Getenv != nil {
		reg.URL = env.Getenv("CI_SERVER_URL")
	}
	if reg.URL == "" {
		return reg, hint.Wrap(kindErrorf(registry.ErrSetting, "no GitLab instance to talk to"),
			"pass --registry URL, set [registry] url in packages.toml, or run in GitLab CI ($CI_SERVER_URL)")
	}
	return reg, nil
}
