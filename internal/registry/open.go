package registry

import (
	"fmt"
	"os"
	"time"

	"github.com/gpmtool/gpm/internal/hint"
)

// Env is what building a client needs from the process around it. The
// engines above registry pass it through from the command line.
type Env struct {
	// Getenv reads the environment (os.Getenv outside tests): credentials,
	// CI_SERVER_URL, GPM_RETRY_BASE, and for the engines GPM_CACHE.
	Getenv func(string) string
	// Jobs sizes the connection pool; values below 1 mean 8.
	Jobs int
	// UserAgent is sent with every request.
	UserAgent string
	// Warnf receives warnings, one sentence each; nil discards them.
	Warnf func(format string, args ...any)
	// Slots, when set, is shared by every client built with this Env: it
	// bounds their listings, and their transfers, in flight between them.
	Slots *Limiter
	// Logf, when set, receives each HTTP request and the credential source
	// (gpm -v). It never receives a token.
	Logf func(format string, args ...any)
}

func (e Env) getenv(k string) string {
	if e.Getenv == nil {
		return os.Getenv(k)
	}
	return e.Getenv(k)
}

// Warn passes a warning to Warnf, if set.
func (e Env) Warn(format string, args ...any) {
	if e.Warnf != nil {
		e.Warnf(format, args...)
	}
}

// Open resolves the credential for the registry at url (see
// ResolveCredential) and builds its client the way every gpm command does.
// label names the registry in errors and logs ("default", or a quoted name);
// defaultRegistry says whether it is the default registry, the only one the
// environment tokens ($GPM_TOKEN, $GITLAB_TOKEN) go to.
func Open(url, label string, spec *TokenSpec, defaultRegistry bool, env Env) (*Client, error) {
	if env.Jobs < 1 {
		env.Jobs = 8
	}
	cred, warnings, err := ResolveCredential(url, spec, defaultRegistry, env.getenv)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", label, err)
	}
	for _, w := range warnings {
		env.Warn("%s", w)
	}
	opts := []Option{
		WithCredential(cred),
		WithUserAgent(env.UserAgent),
		WithJobs(env.Jobs),
	}
	if env.Logf != nil {
		opts = append(opts, WithLogf(env.Logf))
	}
	if env.Slots != nil {
		opts = append(opts, WithLimiter(env.Slots))
	}
	// GPM_RETRY_BASE shortens the retry backoff; the end-to-end tests set
	// it so that injected faults do not slow the suite down.
	if d, err := time.ParseDuration(env.getenv("GPM_RETRY_BASE")); err == nil && d > 0 {
		opts = append(opts, WithRetry(Retry{Base: d, Max: 10 * d, MaxRetryAfter: 10 * d}))
	}
	// GPM_READ_TIMEOUT is how long a response body may send nothing
	// before gpm gives up on it and retries (default DefaultReadTimeout).
	if v := env.getenv("GPM_READ_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, hint.Wrap(&settingError{fmt.Sprintf("GPM_READ_TIMEOUT=%q is not a positive duration", v)},
				fmt.Sprintf("it is how long a download or listing may send nothing before gpm gives up on it and retries (default %v); write it as a Go duration such as 90s or 2m, or unset it", DefaultReadTimeout))
		}
		opts = append(opts, WithReadTimeout(d))
	}
	cl, err := New(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", label, err)
	}
	if env.Logf != nil {
		env.Logf("registry %s: %s, credential: %s", label, cl.APIURL(), cred)
	}
	return cl, nil
}
